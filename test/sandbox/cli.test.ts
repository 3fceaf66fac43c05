import { strict as assert } from 'node:assert';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { main } from '../../sandbox/cli';
import { DEMO_C4C } from '../../sandbox/demo-accounts';
import { Sandbox, startSandbox } from '../../sandbox/index';
import { NodeRedHarness } from '../support/node-red-harness';

/** What one CLI run printed: results (stdout) and failures (stderr) apart. */
class Console {
  out: string[] = [];
  err: string[] = [];
  readonly print = (line: string) => this.out.push(...line.split('\n'));
  readonly report = (line: string) => this.err.push(...line.split('\n'));
  run(args: string[]): Promise<number> {
    this.out = [];
    this.err = [];
    return main(args, this.print, this.report);
  }
}

/** The arguments of a command the CLI printed, e.g. "npm run sandbox -- change X --set A=B". */
function argsOf(printed: string): string[] {
  const command = /npm run sandbox -- (.*)$/.exec(printed)?.[1];
  assert.ok(command, `"${printed}" names a CLI command`);
  assert.doesNotMatch(command, /["'\\]/, 'the printed command needs no shell quoting to split');
  return command.split(' ');
}

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('sandbox CLI: C4C commands', () => {
  let sandbox: Sandbox;
  const cli = new Console();

  beforeEach(async () => {
    sandbox = await startSandbox();
  });
  afterEach(() => sandbox.close());

  it('lists customers under a header row, with their WeChat follower and status', async () => {
    const follower = sandbox.c4c.createCustomer({ FirstName: 'Mei', LastName: 'Wang', RoleCode: 'CRM000', WechatID: 'oOpenId1', WechatStatus: 'subscribed' }, undefined, false);
    const other = sandbox.c4c.createCustomer({ LastName: 'Li', RoleCode: 'CRM000' }, undefined, false);

    assert.equal(await cli.run(['customers', '--sandbox', sandbox.baseUrl]), 0);
    const [header, first, second] = cli.out;
    assert.match(header, /^ObjectID +CustomerID +Name +WechatID +WechatStatus$/);
    assert.match(first, new RegExp(`^${String(follower.ObjectID)} +${String(follower.CustomerID)} +Mei Wang +oOpenId1 +subscribed$`));
    assert.match(second, new RegExp(`^${String(other.ObjectID)} +${String(other.CustomerID)} +Li +— +—$`));
    // Columns line up: each value starts where its header does.
    assert.equal(first.indexOf('oOpenId1'), header.indexOf('WechatID'));
    assert.equal(second.lastIndexOf('—'), header.indexOf('WechatStatus'));
    assert.deepEqual(cli.err, []);
  });

  it('prints a change command that works exactly as printed against this sandbox', async () => {
    const customer = sandbox.c4c.createCustomer({ FirstName: 'Mei', LastName: 'Wang', RoleCode: 'CRM000' }, undefined, false);
    assert.equal(await cli.run(['customers', '--sandbox', sandbox.baseUrl]), 0);
    const hint = cli.out[cli.out.length - 1];
    assert.match(hint, new RegExp(`change ${String(customer.ObjectID)} .*--sandbox ${sandbox.baseUrl}$`));

    assert.equal(await cli.run(argsOf(hint)), 0, cli.err.join('\n'));
    assert.equal(sandbox.c4c.getCustomer(String(customer.ObjectID))?.FirstName, 'Anna');
  });

  it('says when there are no customers yet, without a command that would need completing', async () => {
    assert.equal(await cli.run(['customers', '--sandbox', sandbox.baseUrl]), 0);
    assert.equal(cli.out.length, 1);
    assert.match(cli.out[0], /^no customers yet: follow the account first/);
  });

  it('changes a customer named by its ObjectID, CustomerID or WechatID, as a person in C4C would', async () => {
    const customer = sandbox.c4c.createCustomer({ FirstName: 'Mei', LastName: 'Wang', RoleCode: 'CRM000', WechatID: 'oOpenId2' }, undefined, false);
    const id = String(customer.ObjectID);
    for (const [ref, name] of [
      [id, 'Anna'],
      [String(customer.CustomerID), 'Bo'],
      ['oOpenId2', 'Chen'],
    ]) {
      assert.equal(await cli.run(['change', ref, '--set', `FirstName=${name}`, '--sandbox', sandbox.baseUrl]), 0, cli.err.join('\n'));
      assert.equal(sandbox.c4c.getCustomer(id)?.FirstName, name);
      assert.deepEqual(cli.out, [`changed customer ${String(customer.CustomerID)} (ObjectID ${id}): {"FirstName":"${name}"}; C4C now notifies its consumer`]);
    }
    assert.equal(sandbox.c4c.getCustomer(id)?.ChangedBy, DEMO_C4C.salesRepName);
  });

  it('refuses a change without fields or with a malformed one as a usage error', async () => {
    assert.equal(await cli.run(['change', 'X1', '--sandbox', sandbox.baseUrl]), 2);
    assert.match(cli.err[0], /at least one --set/);
    assert.ok(cli.err.some((l) => l.startsWith('Usage: npm run sandbox')));
    assert.equal(await cli.run(['change', 'X1', '--set', 'novalue', '--sandbox', sandbox.baseUrl]), 2);
    assert.match(cli.err[0], /--set takes Field=Value/);
  });

  it('reports an unknown customer in one line, without the usage text', async () => {
    assert.equal(await cli.run(['change', 'NOPE', '--set', 'FirstName=A', '--sandbox', sandbox.baseUrl]), 1);
    assert.deepEqual(cli.err, [`the sandbox at ${sandbox.baseUrl} has no customer with the ObjectID, CustomerID or WechatID "NOPE" (the customers command lists them)`]);
    assert.deepEqual(cli.out, []);
  });

  it("reports what the stand-in refused, in its own words, in one line", async () => {
    const customer = sandbox.c4c.createCustomer({ LastName: 'Wang', RoleCode: 'CRM000' }, undefined, false);
    assert.equal(await cli.run(['change', String(customer.ObjectID), '--set', 'Shoe=42', '--sandbox', sandbox.baseUrl]), 1);
    assert.deepEqual(cli.err, [`the sandbox at ${sandbox.baseUrl} answered 400: Property Shoe is invalid or not updatable`]);
  });
});

describe('sandbox CLI: failures and usage errors', () => {
  const cli = new Console();
  // A Node-RED HTTP root with no routes: its answers are Node-RED's own HTML error pages.
  const nodeRed = new NodeRedHarness();
  before(() => nodeRed.load([() => undefined], []));
  after(() => nodeRed.stop());

  it('reports a sandbox nobody listens on in one line naming its address', async () => {
    const address = `http://127.0.0.1:${await closedPort()}`;
    for (const args of [['customers'], ['change', 'X1', '--set', 'FirstName=A']]) {
      assert.equal(await cli.run([...args, '--sandbox', address]), 1);
      assert.equal(cli.err.length, 1, cli.err.join('\n'));
      assert.match(cli.err[0], new RegExp(`^could not reach the sandbox at ${address} \\(connect ECONNREFUSED .*\\): is npm start running\\? Give its address with --sandbox <url>$`));
    }
  });

  it('summarises an HTML error page from something that is not the sandbox', async () => {
    assert.equal(await cli.run(['customers', '--sandbox', nodeRed.baseUrl]), 1);
    assert.deepEqual(cli.err, [`${nodeRed.baseUrl} is not the sandbox: it answered 404: Cannot GET /c4c/_sandbox/customers`]);
  });

  it('summarises a webhook HTML error page in the send result and fails with 1', async () => {
    assert.equal(await cli.run(['send', '--url', `${nodeRed.baseUrl}/wechat/nothing`, '--text', 'hi']), 1);
    assert.equal(cli.out[cli.out.length - 1], '← 404 refused by the endpoint: HTTP 404: Cannot POST /wechat/nothing');
    assert.ok(cli.out.every((l) => !/<\w+/.test(l)), cli.out.join('\n'));
  });

  it('answers usage errors with the message and the usage text, exit 2', async () => {
    for (const [args, message] of [
      [['frobnicate'], 'unknown command "frobnicate"'],
      [[], 'which command?'],
      [['send', '--text', 'opening', 'hours'], 'unexpected argument "hours" (quote a value that has spaces)'],
      [['customers', '--sandbox', 'localhost:1890'], '--sandbox must be an http or https URL, not "localhost:1890"'],
      [['send', '--url', 'not a url'], '--url must be a URL such as http://127.0.0.1:1880/wechat/official, not "not a url"'],
      [['send', '--event', 'nonsense'], '--event must be one of subscribe, unsubscribe, SCAN, LOCATION, CLICK, VIEW for official'],
      [['send', '--bogus'], "Unknown option '--bogus'"],
    ] as const) {
      assert.equal(await cli.run([...args]), 2, args.join(' '));
      assert.ok(cli.err[0].startsWith(message), `${cli.err[0]} starts with ${message}`);
      assert.ok(cli.err.includes('Usage: npm run sandbox -- <command> [options]'));
      assert.deepEqual(cli.out, []);
    }
  });

  it('prints the usage text on --help, exit 0', async () => {
    assert.equal(await cli.run(['--help']), 0);
    assert.equal(cli.out[0], 'Usage: npm run sandbox -- <command> [options]');
    assert.deepEqual(cli.err, []);
  });
});
