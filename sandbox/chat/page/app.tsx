/**
 * The sandbox chat page: a phone on the left (pick a simulated user and an account,
 * send what a user sends, see every reply and active message arrive), the C4C stand-in,
 * the TimeOff approver's phone and a WF-DCN back end on the right. It speaks only to the
 * chat page's API (sandbox/chat/server.ts).
 */
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AccountSetup, ChatEntry, CustomerList, DcnResult, PageMessage, SendAnswer, Setup } from '../api';
import type { DemoAccount } from '../../wechat-client';
import { Lang, TEXTS, Texts, defaultLang } from './texts';

async function api<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(answer.error ?? `${response.status}`);
  return answer;
}

/** The user's conversation, kept up to date through the page's event stream. */
function useConversation(user: string): ChatEntry[] {
  const [entries, setEntries] = useState<ChatEntry[]>([]);
  useEffect(() => {
    setEntries([]);
    const source = new EventSource(`/api/conversation?user=${encodeURIComponent(user)}`);
    source.onmessage = (event: MessageEvent<string>) => {
      const entry = JSON.parse(event.data) as ChatEntry;
      // A reconnect sends the history again: keep each entry once.
      setEntries((old) => (old.some((e) => e.id === entry.id) ? old : [...old, entry]));
    };
    return () => source.close();
  }, [user]);
  return entries;
}

function clock(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** "approve 7" (or "同意 7") as the card asks the approver to answer; null when it asks nothing. */
function approvalCommand(entry: ChatEntry): { command: string; id: string } | null {
  const asked = entry.card?.lines.map((line) => /(approve|同意) ([^\s"”]+)/.exec(line)).find(Boolean);
  return asked ? { command: `${asked[1]} ${asked[2]}`, id: asked[2] } : null;
}

/** What the user sent, as their phone shows it: the text, an image, a location, or the event. */
function Sent(props: { entry: ChatEntry; t: Texts }) {
  const { entry, t } = props;
  if (entry.msgtype === 'image') return <div class="image" role="img" aria-label={t.image} />;
  if (entry.msgtype === 'location') return <div class="location">{entry.text}</div>;
  if (entry.msgtype !== 'event') return <div class="text">{entry.text}</div>;
  const event = entry.text === 'subscribe' ? t.follow : entry.text === 'unsubscribe' ? t.unfollow : `${t.menu}: ${entry.text}`;
  return <div class="event">{event}</div>;
}

function Bubble(props: { entry: ChatEntry; t: Texts; onApprove?: (command: string) => void }) {
  const { entry, t } = props;
  if (entry.channel === 'note') {
    return (
      <div class="note" data-channel="note">
        {entry.text}
      </div>
    );
  }
  const mine = entry.channel === 'sent';
  const approval = props.onApprove ? approvalCommand(entry) : null;
  const body = entry.card ? (
    <div class="card">
      <div class="card-title">{entry.card.title}</div>
      {entry.card.lines.map((line) => (
        <div class="card-line">{line}</div>
      ))}
      <div class="card-button">{entry.card.button || '›'}</div>
    </div>
  ) : (
    <div class="text">{entry.text || `[${entry.msgtype}]`}</div>
  );
  return (
    <div class={`row ${mine ? 'mine' : 'theirs'}`} data-channel={entry.channel} data-late={entry.late ? 'true' : undefined}>
      <div class={`bubble ${entry.card ? 'with-card' : ''}`}>
        <div class="meta">
          <span>{t.channels[entry.channel]}</span>
          <span class="time">{clock(entry.at)}</span>
        </div>
        {mine ? <Sent entry={entry} t={t} /> : body}
        {entry.late ? <div class="late">{t.late}</div> : null}
        {approval && props.onApprove ? (
          <button class="approve" onClick={() => props.onApprove?.(approval.command)}>
            {t.approve(approval.id)}
          </button>
        ) : null}
      </div>
    </div>
  );
}

function Conversation(props: { user: string; t: Texts; empty?: string; onApprove?: (command: string) => void; testId: string }) {
  const entries = useConversation(props.user);
  const box = useRef<HTMLDivElement>(null);
  // The newest at the bottom, in view; only this box scrolls, not the page around it.
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [entries.length]);
  return (
    <div class="conversation" data-testid={props.testId} ref={box}>
      {entries.length === 0 ? <div class="empty">{props.empty ?? props.t.empty}</div> : null}
      {entries.map((entry) => (
        <Bubble key={entry.id} entry={entry} t={props.t} onApprove={props.onApprove} />
      ))}
    </div>
  );
}

function Composer(props: { t: Texts; account: AccountSetup; send: (message: PageMessage) => Promise<void>; testId: string }) {
  const { t, account } = props;
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(0);
  const go = (message: PageMessage) => {
    setBusy((n) => n + 1);
    void props.send(message).finally(() => setBusy((n) => n - 1));
  };
  const submit = (event: Event) => {
    event.preventDefault();
    if (text.trim() === '') return;
    go({ kind: 'text', text });
    setText('');
  };
  return (
    <div class="composer" data-testid={props.testId}>
      <div class="actions">
        <button type="button" onClick={() => go({ kind: 'image' })}>
          {t.image}
        </button>
        <button type="button" onClick={() => go({ kind: 'location' })}>
          {t.location}
        </button>
        {account.menu.map((key) => (
          <button type="button" onClick={() => go({ kind: 'menu', key })}>
            {t.menu}
          </button>
        ))}
        {account.follow ? (
          <>
            <button type="button" data-action="follow" onClick={() => go({ kind: 'follow' })}>
              {t.follow}
            </button>
            <button type="button" data-action="unfollow" onClick={() => go({ kind: 'unfollow' })}>
              {t.unfollow}
            </button>
          </>
        ) : null}
        {busy > 0 ? <span class="busy">{t.sending}</span> : null}
      </div>
      <form onSubmit={submit}>
        <input value={text} placeholder={t.placeholder} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <button type="submit">{t.send}</button>
      </form>
    </div>
  );
}

function sender(account: DemoAccount, user: string, onError: (message: string) => void) {
  return (message: PageMessage) =>
    api<SendAnswer>('/api/send', { account, user, message }).then(
      () => undefined,
      (err: Error) => onError(err.message),
    );
}

function Phone(props: { setup: Setup; t: Texts; onError: (message: string) => void; onActivity: () => void }) {
  const { setup, t } = props;
  const [accountId, setAccountId] = useState<DemoAccount>('official');
  const account = setup.accounts.find((a) => a.id === accountId) ?? setup.accounts[0];
  const [user, setUser] = useState(account.users[0].id);
  const pick = (id: DemoAccount) => {
    setAccountId(id);
    setUser((setup.accounts.find((a) => a.id === id) ?? account).users[0].id);
  };
  return (
    <section class="phone" data-testid="phone">
      <header>
        <label>
          {t.account}
          <select data-testid="account" value={accountId} onChange={(e) => pick((e.target as HTMLSelectElement).value as DemoAccount)}>
            {setup.accounts.map((a) => (
              <option value={a.id}>{t.accounts[a.id]}</option>
            ))}
          </select>
        </label>
        <label>
          {t.user}
          <select data-testid="user" value={user} onChange={(e) => setUser((e.target as HTMLSelectElement).value)}>
            {account.users.map((u) => (
              <option value={u.id}>
                {u.id} ({t.roles[u.role]})
              </option>
            ))}
          </select>
        </label>
      </header>
      <Conversation user={user} t={t} testId="conversation" />
      <Composer
        t={t}
        account={account}
        testId="composer"
        send={(message) => {
          props.onActivity();
          return sender(accountId, user, props.onError)(message).then(props.onActivity);
        }}
      />
    </section>
  );
}

function C4CPanel(props: { t: Texts; version: number; onError: (message: string) => void }) {
  const { t } = props;
  const [list, setList] = useState<CustomerList | null>(null);
  const [editing, setEditing] = useState<{ ref: string; value: string } | null>(null);
  const [done, setDone] = useState('');
  const load = () => void api<CustomerList>('/api/customers').then(setList, (err: Error) => props.onError(err.message));
  useEffect(load, [props.version]);
  const apply = (event: Event) => {
    event.preventDefault();
    if (!editing) return;
    void api<{ row: Record<string, string> }>(`/api/customers/${encodeURIComponent(editing.ref)}`, { FirstName: editing.value }).then(
      ({ row }) => {
        setDone(t.changed(row.CustomerID));
        setEditing(null);
        load();
      },
      (err: Error) => props.onError(err.message),
    );
  };
  return (
    <div class="panel" data-testid="c4c-panel">
      <div class="panel-actions">
        <button onClick={load}>{t.refresh}</button>
      </div>
      {!list || list.rows.length === 0 ? (
        <div class="empty">{t.noCustomers}</div>
      ) : (
        <div class="table">
        <table>
          <thead>
            <tr>
              {list.columns.map((c) => (
                <th>{c}</th>
              ))}
              <th />
            </tr>
          </thead>
          <tbody>
            {list.rows.map((row) => (
              <tr data-customer={row.ObjectID}>
                {list.columns.map((c) => (
                  <td data-column={c}>{row[c]}</td>
                ))}
                <td>
                  <button data-action="change" onClick={() => setEditing({ ref: row.ObjectID, value: row.Name === '—' ? '' : row.Name.split(' ')[0] })}>
                    {t.change}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      {editing ? (
        <form class="edit" onSubmit={apply}>
          <label>
            FirstName
            <input name="FirstName" value={editing.value} onInput={(e) => setEditing({ ...editing, value: (e.target as HTMLInputElement).value })} />
          </label>
          <button type="submit">{t.apply}</button>
        </form>
      ) : null}
      {done ? <div class="done">{done}</div> : null}
    </div>
  );
}

function TimeOffPanel(props: { setup: Setup; t: Texts; onError: (message: string) => void }) {
  const { setup, t } = props;
  const approverAccount = setup.accounts.find((a) => a.id === 'microapp') ?? setup.accounts[0];
  const send = sender('microapp', setup.approver, props.onError);
  return (
    <div class="panel" data-testid="timeoff-panel">
      <div class="panel-actions">
        <span>{t.approverView(setup.approver)}</span>
        <a href={setup.links.timeOff} target="_blank" rel="noreferrer">
          {t.openTimeOff}
        </a>
      </div>
      <Conversation user={setup.approver} t={t} empty="—" testId="approver-conversation" onApprove={(command) => void send({ kind: 'text', text: command })} />
      <Composer t={t} account={{ ...approverAccount, menu: [] }} send={send} testId="approver-composer" />
    </div>
  );
}

function DcnPanel(props: { setup: Setup; t: Texts; onError: (message: string) => void }) {
  const { setup, t } = props;
  const [template, setTemplate] = useState(setup.templates[0]);
  const [results, setResults] = useState<DcnResult[]>([]);
  // The newest answer first; the earlier ones stay below it.
  const run = (action: 'post' | 'delete') =>
    void api<DcnResult>('/api/dcn', { action, template }).then(
      (result) => setResults((old) => [result, ...old].slice(0, 5)),
      (err: Error) => props.onError(err.message),
    );
  return (
    <div class="panel" data-testid="dcn-panel">
      <div class="panel-actions">
        <label>
          {t.template}
          <select value={template} onChange={(e) => setTemplate((e.target as HTMLSelectElement).value as typeof template)}>
            {setup.templates.map((name) => (
              <option value={name}>{name}</option>
            ))}
          </select>
        </label>
        <button data-action="post" onClick={() => run('post')}>
          {t.post}
        </button>
        <button data-action="retract" onClick={() => run('delete')}>
          {t.retract}
        </button>
      </div>
      {results.map((result) => (
        <div class="result" data-testid="dcn-result" data-status={result.status}>
          <div>
            {result.what} → <b>{result.status}</b> {result.meaning}
          </div>
          <pre>{typeof result.body === 'string' ? result.body : JSON.stringify(result.body, null, 2)}</pre>
        </div>
      ))}
      <h3>{t.reached(setup.dcnReceiver)}</h3>
      <Conversation user={setup.dcnReceiver} t={t} empty="—" testId="dcn-conversation" />
    </div>
  );
}

type PanelName = 'c4c' | 'timeOff' | 'dcn';

function App() {
  const [lang, setLang] = useState<Lang>(defaultLang(navigator.language));
  const [setup, setSetup] = useState<Setup | null>(null);
  const [panel, setPanel] = useState<PanelName>('c4c');
  const [error, setError] = useState('');
  const [version, setVersion] = useState(0);
  const t = TEXTS[lang];
  useEffect(() => void api<Setup>('/api/setup').then(setSetup, (err: Error) => setError(err.message)), []);
  useEffect(() => {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t.title;
  }, [lang]);
  if (!setup) return <div class="loading">{error || '…'}</div>;
  const onActivity = () => setVersion((n) => n + 1);
  return (
    <div class="page">
      <div class="top">
        <h1>{t.title}</h1>
        <span class="intro">{t.intro}</span>
        <a href={setup.links.editor} target="_blank" rel="noreferrer">
          {t.editor}
        </a>
        <select data-testid="lang" value={lang} onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}>
          <option value="en">English</option>
          <option value="zh">中文</option>
        </select>
      </div>
      {error ? (
        <div class="error" data-testid="error" onClick={() => setError('')}>
          {error}
        </div>
      ) : null}
      <main>
        <Phone setup={setup} t={t} onError={setError} onActivity={onActivity} />
        <section class="side">
          <nav>
            {(['c4c', 'timeOff', 'dcn'] as const).map((name) => (
              <button class={panel === name ? 'active' : ''} data-panel={name} onClick={() => setPanel(name)}>
                {t[name]}
              </button>
            ))}
          </nav>
          {panel === 'c4c' ? <C4CPanel t={t} version={version} onError={setError} /> : null}
          {panel === 'timeOff' ? <TimeOffPanel setup={setup} t={t} onError={setError} /> : null}
          {panel === 'dcn' ? <DcnPanel setup={setup} t={t} onError={setError} /> : null}
        </section>
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
