/**
 * Fuzz targets over the routes we own, each sending its cases over real HTTP to one
 * running Node-RED (FuzzNodeRed). A case fails when the route answers bad input with a
 * 5xx (except WF-DCN's 500 for a well-formed request whose processing failed, which the
 * protocol prescribes), does not answer (or, for WeChat, answers after its 5 s), or
 * answers a broken authentication with anything but its refusal; a target fails when
 * a marked (unauthenticated) message reached a flow.
 */
import { Agent, request } from 'node:http';
import { c4cCase } from '../cases/c4c';
import { dcnCase } from '../cases/dcn';
import { adminCase } from '../cases/dcn-admin';
import { HttpCase, describeCase, refusalsFor, searchOf } from '../cases/http-case';
import { carriesMark } from '../cases/marker';
import { timeoffCase } from '../cases/timeoff';
import { WeChatCases, WeChatFuzzMode } from '../cases/wechat';
import { Random } from '../engine/random';
import { CaseOutcome, FuzzTarget } from '../engine/runner';
import { FuzzNodeRed, InboundNodeId, ROUTES } from './fuzz-flow';

/** WeChat gives up on a callback after 5 s. */
const WECHAT_DEADLINE_MS = 5000;
/** No route may take longer than this to answer anything. */
const ANSWER_TIMEOUT_MS = 15_000;
/** How often the harness forgets the node calls it recorded: else the memory figures would be the harness's. */
const FORGET_EVERY = 500;

export interface Answer {
  status: number;
  body: string;
  ms: number;
}

type Sent = Answer | { failure: 'timeout' | 'unsendable' | 'reset'; reason: string; ms: number };

/** Sends a case; never rejects. */
export function send(agent: Agent, baseUrl: string, route: string, c: HttpCase): Promise<Sent> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (sent: Sent) => {
      if (settled) return;
      settled = true;
      resolve(sent);
    };
    try {
      const req = request(
        `${baseUrl}${route}${c.path ?? ''}${searchOf(c.query)}`,
        { method: c.method, agent, headers: { ...c.headers, 'content-length': String(c.body.length) }, timeout: ANSWER_TIMEOUT_MS },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started }));
          res.on('error', (err) => finish({ failure: 'reset', reason: err.message, ms: Date.now() - started }));
        },
      );
      req.on('timeout', () => {
        req.destroy();
        finish({ failure: 'timeout', reason: `no answer within ${ANSWER_TIMEOUT_MS} ms`, ms: Date.now() - started });
      });
      req.on('error', (err) => finish({ failure: 'reset', reason: err.message, ms: Date.now() - started }));
      req.end(c.body);
    } catch (err) {
      // Headers or a path Node's client refuses to send: no request, nothing to judge.
      finish({ failure: 'unsendable', reason: (err as Error).message, ms: 0 });
    }
  });
}

/** JavaScript's own errors in an answer: an exception escaped into it. */
const RUNTIME_ERROR = /TypeError|ReferenceError|RangeError|SyntaxError|Cannot read propert|is not a function|is not iterable|Maximum call stack/;

/**
 * WF-DCN answers 500 when applying the data or the fan-out of a well-formed request
 * failed; its body is the call's log records. A 500 with any other body, or with an
 * exception's text in it, is ours.
 */
export function isProtocolFailure(body: string): boolean {
  let records: unknown;
  try {
    records = JSON.parse(body);
  } catch {
    return false;
  }
  return (
    Array.isArray(records) &&
    records.length > 0 &&
    records.every((r) => r && typeof r === 'object' && typeof (r as { error?: unknown }).error === 'string' && !RUNTIME_ERROR.test((r as { error: string }).error))
  );
}

interface RouteJudging {
  /** A WeChat route: the answer must come within WeChat's deadline. */
  deadline?: boolean;
  /** WF-DCN: a 500 with log records is the protocol's answer. */
  protocol500?: boolean;
}

export function judge(c: HttpCase, sent: Sent, judging: RouteJudging): CaseOutcome {
  const input = describeCase(c);
  if ('failure' in sent) {
    if (sent.failure === 'unsendable') return { status: 'unsendable' };
    return { status: sent.failure, problem: `${sent.failure}: ${sent.reason}`, input };
  }
  const status = String(sent.status);
  if (judging.deadline && sent.ms > WECHAT_DEADLINE_MS) return { status, problem: `answered after ${sent.ms} ms, past WeChat's 5 s`, input };
  if (sent.status >= 500 && !(judging.protocol500 && sent.status === 500 && isProtocolFailure(sent.body))) {
    return { status, problem: `${sent.status} for bad input: ${sent.body.slice(0, 300)}`, input };
  }
  if (c.kind === 'auth' && !refusalsFor(c.broken).includes(sent.status)) {
    return { status, problem: `broken authentication (${c.broken}) answered ${sent.status}, not ${refusalsFor(c.broken).join('/')}: ${sent.body.slice(0, 200)}`, input };
  }
  return { status };
}

interface RouteSpec {
  name: string;
  route: string;
  /** The inbound node behind the route, whose marked sends are leaks. */
  inbound?: InboundNodeId;
  next: (rng: Random) => HttpCase;
  judging: RouteJudging;
}

function routeTarget(rig: FuzzNodeRed, agent: Agent, spec: RouteSpec): FuzzTarget {
  let leaksBefore = 0;
  return {
    name: spec.name,
    begin: () => {
      rig.forgetCalls();
      leaksBefore = spec.inbound ? rig.marked(spec.inbound) : 0;
    },
    async run(rng: Random, index: number): Promise<CaseOutcome> {
      if (index % FORGET_EVERY === 0) rig.forgetCalls();
      const c = spec.next(rng);
      return judge(c, await send(agent, rig.baseUrl, spec.route, c), spec.judging);
    },
    // What the flows still do with the last cases (c4c-notification-in emits after its 202) ends first.
    settle: () => new Promise((resolve) => setTimeout(resolve, 500)),
    leaks: () => (spec.inbound ? rig.marked(spec.inbound) - leaksBefore : 0),
  };
}

const WECHAT_ROUTES: Record<WeChatFuzzMode, { route: string; inbound: InboundNodeId }> = {
  plain: { route: ROUTES.plain, inbound: 'fz.in.plain' },
  compatible: { route: ROUTES.official, inbound: 'fz.in.official' },
  safe: { route: ROUTES.official, inbound: 'fz.in.official' },
  wecom: { route: ROUTES.wecom, inbound: 'fz.in.wecom' },
  'mobile-services': { route: ROUTES.mobileServices, inbound: 'timeoff.chat.in' },
};

/** Every route target, in the order they run. */
export function routeTargets(rig: FuzzNodeRed, agent: Agent): FuzzTarget[] {
  const wechat = (mode: WeChatFuzzMode): RouteSpec => {
    const cases = new WeChatCases(mode);
    return { name: `route:wechat-in:${mode}`, ...WECHAT_ROUTES[mode], next: (rng) => cases.next(rng), judging: { deadline: true } };
  };
  const specs: RouteSpec[] = [
    wechat('plain'),
    wechat('compatible'),
    wechat('safe'),
    wechat('wecom'),
    wechat('mobile-services'),
    { name: 'route:c4c-notification-in', route: ROUTES.c4c, inbound: 'fz.c4c', next: c4cCase, judging: {} },
    { name: 'route:wf-dcn-in:http-auth', route: ROUTES.dcnHttpAuth, inbound: 'fz.dcn.in', next: (rng) => dcnCase(rng, 'http-auth'), judging: { protocol500: true } },
    { name: 'route:wf-dcn-in:parameters', route: ROUTES.dcnParameters, inbound: 'fz.dcn.in', next: (rng) => dcnCase(rng, 'parameters'), judging: { protocol500: true } },
    { name: 'route:timeoff-rest', route: ROUTES.timeoff, next: timeoffCase, judging: {} },
  ];
  return [...specs.map((spec) => routeTarget(rig, agent, spec)), adminTarget(rig, agent)];
}

/** The hub's cache, registry and inbox routes; a leak is a device registered for a marked user. */
function adminTarget(rig: FuzzNodeRed, agent: Agent): FuzzTarget {
  const markedDevices = async () => (await rig.hub().hub.registry.list({})).filter((device) => carriesMark(device)).length;
  let leaksBefore = 0;
  return {
    name: 'route:wf-dcn-hub:admin',
    begin: async () => {
      rig.forgetCalls();
      leaksBefore = await markedDevices();
    },
    async run(rng: Random, index: number): Promise<CaseOutcome> {
      if (index % FORGET_EVERY === 0) rig.forgetCalls();
      const c = adminCase(rng);
      return judge(c, await send(agent, rig.baseUrl, ROUTES.dcnAdmin, c), {});
    },
    leaks: async () => (await markedDevices()) - leaksBefore,
  };
}
