import assert from 'node:assert/strict';
import type { Node, NodeMessage } from 'node-red';
import registerOdata from '../../../nodes/c4c-odata/c4c-odata';
import registerSystem from '../../../nodes/c4c-system/c4c-system';
import { DEMO_C4C } from '../../../sandbox/demo-accounts';
import { startSandbox, Sandbox } from '../../../sandbox/index';
import { FlowNode, NodeRedHarness } from '../../support/node-red-harness';

type Msg = NodeMessage & Record<string, unknown>;

describe('c4c-system + c4c-odata nodes', () => {
  let sandbox: Sandbox;
  const harness = new NodeRedHarness();
  before(async () => {
    sandbox = await startSandbox({ c4c: { pageSize: 5 } });
  });
  after(async () => {
    await harness.stop();
    await sandbox.close();
  });
  beforeEach(() => sandbox.c4c.reset());
  afterEach(() => harness.unload());

  const system = (extra: Partial<FlowNode> = {}): FlowNode => ({ id: 'sys', type: 'c4c-system', baseUrl: `${sandbox.baseUrl}/c4c`, service: 'standard', authType: 'basic', retries: 2, ...extra });
  const creds = { sys: { user: DEMO_C4C.user, password: DEMO_C4C.password } };

  async function load(odata: Partial<FlowNode>, sys: FlowNode = system(), credentials: object = creds): Promise<void> {
    await harness.load(
      [registerSystem, registerOdata],
      [
        { id: 'tab', type: 'tab' },
        sys,
        { id: 'od', type: 'c4c-odata', z: 'tab', x: 100, y: 100, system: 'sys', wires: [['out']], ...odata },
        { id: 'out', type: 'helper', z: 'tab', x: 200, y: 100 },
        { id: 'catch', type: 'catch', z: 'tab', x: 100, y: 200, scope: ['od'], wires: [['caught']] },
        { id: 'caught', type: 'helper', z: 'tab', x: 200, y: 200 },
      ],
      credentials,
    );
    // One listener per helper for the whole load; each round trip takes the next answer.
    harness.getNode('out').on('input', (m: Msg) => settle?.({ out: m }));
    harness.getNode('caught').on('input', (m: Msg) => settle?.({ caught: m }));
  }

  let settle: ((r: { out?: Msg; caught?: Msg }) => void) | null = null;

  /** Sends msg into the odata node and resolves with whichever helper receives first. */
  function roundTrip(msg: Msg): Promise<{ out?: Msg; caught?: Msg }> {
    return new Promise((resolve) => {
      settle = (r) => {
        settle = null;
        resolve(r);
      };
      harness.getNode('od').receive(msg);
    });
  }

  it('creates from msg.payload, then updates with the ETag and reports a stale ETag as a conflict', async () => {
    await load({ operation: 'create', entitySet: 'IndividualCustomerCollection', entitySetType: 'str', body: 'payload', bodyType: 'msg' });
    const created = await roundTrip({ payload: { FirstName: 'Han', LastName: 'Meimei', RoleCode: 'CRM000' } });
    const entity = created.out?.payload as Record<string, unknown>;
    assert.equal(entity.LastName, 'Meimei');
    assert.match(String(created.out?.etag), /^W\//);
    await harness.unload();

    await load({ operation: 'update', entitySet: 'IndividualCustomerCollection', key: 'payload.ObjectID', keyType: 'msg', body: '{"FirstName":"Lily"}', bodyType: 'json', etag: 'etag', etagType: 'msg' });
    const updated = await roundTrip({ payload: entity, etag: created.out?.etag });
    assert.equal((updated.out?.c4c as { status: number }).status, 204);
    const stale = await roundTrip({ payload: entity, etag: created.out?.etag });
    assert.ok(stale.caught, 'a 412 reaches the Catch node');
    assert.deepEqual((stale.caught?.c4cError as { kind: string; status: number }).kind, 'conflict');
    assert.match(String((stale.caught?.error as { message: string }).message), /412/);
    assert.equal(sandbox.c4c.getCustomer(String(entity.ObjectID))?.FirstName, 'Lily');
  });

  it('queries with a JSONata filter and follows all pages', async () => {
    sandbox.c4c.seedCustomers(12);
    const target = sandbox.c4c.createCustomer({ LastName: 'Target', RoleCode: 'CRM001' }, 'IndividualCustomerCollection', false);
    await load({ operation: 'query', entitySet: 'IndividualCustomerCollection', filter: '"RoleCode eq \'" & payload & "\'"', filterType: 'jsonata', inlinecount: true });
    const one = await roundTrip({ payload: 'CRM001' });
    assert.deepEqual((one.out?.payload as Array<{ ObjectID: string }>).map((e) => e.ObjectID), [target.ObjectID]);
    assert.equal((one.out?.c4c as { count: number }).count, 1);
    await harness.unload();

    await load({ operation: 'query', entitySet: 'entitySet', entitySetType: 'msg', allPages: true, maxPages: 10, select: 'ObjectID' });
    const all = await roundTrip({ entitySet: 'IndividualCustomerCollection' });
    assert.equal((all.out?.payload as unknown[]).length, 13);
    assert.equal((all.out?.c4c as { pages: number }).pages, 3);
  });

  it('reads by key from env, deletes, and reports 404 through done(err)', async () => {
    const c = sandbox.c4c.createCustomer({ LastName: 'ReadMe', RoleCode: 'CRM000' });
    process.env.C4C_TEST_KEY = String(c.ObjectID);
    try {
      await load({ operation: 'read', entitySet: 'IndividualCustomerCollection', key: 'C4C_TEST_KEY', keyType: 'env' });
      const read = await roundTrip({ payload: null });
      assert.equal((read.out?.payload as { LastName: string }).LastName, 'ReadMe');
      assert.match(String((read.out?.payload as { CreationOn: string }).CreationOn), /Z$/);
    } finally {
      delete process.env.C4C_TEST_KEY;
    }
    await harness.unload();
    await load({ operation: 'delete', entitySet: 'IndividualCustomerCollection', key: 'payload', keyType: 'msg' });
    assert.ok((await roundTrip({ payload: c.ObjectID })).out);
    const again = await roundTrip({ payload: c.ObjectID });
    assert.equal((again.caught?.c4cError as { status: number }).status, 404);
  });

  it('sends $batch parts from msg.payload', async () => {
    await load({ operation: 'batch', body: 'payload', bodyType: 'msg' });
    const res = await roundTrip({ payload: [{ changeset: [{ method: 'POST', path: 'IndividualCustomerCollection', body: { LastName: 'B1', RoleCode: 'CRM000' } }] }, { method: 'GET', path: 'IndividualCustomerCollection?$top=1' }] });
    const parts = res.out?.payload as Array<unknown>;
    assert.equal((parts[0] as Array<{ status: number }>)[0].status, 201);
    assert.equal(((parts[1] as { value: unknown[] }).value).length, 1);
  });

  it('refuses bad input and missing systems without crashing, and keeps secrets out of errors', async () => {
    await load({ operation: 'read', entitySet: 'IndividualCustomerCollection', key: 'nokey', keyType: 'msg' });
    const noKey = await roundTrip({ payload: 1 });
    assert.equal((noKey.caught?.c4cError as { kind: string }).kind, 'input');
    await harness.unload();

    await load({ operation: 'query', entitySet: 'IndividualCustomerCollection' }, system(), { sys: { user: DEMO_C4C.user, password: 'very-secret-pw' } });
    const denied = await roundTrip({ payload: 1 });
    const text = JSON.stringify(denied.caught);
    assert.equal((denied.caught?.c4cError as { status: number }).status, 401);
    assert.doesNotMatch(text, /very-secret-pw/);
    const od = harness.getNode<Node & { status: { lastCall: { args: unknown[] } } }>('od');
    assert.doesNotMatch(JSON.stringify(od.status.lastCall.args), /very-secret-pw/);
    await harness.unload();

    await load({ operation: 'query', entitySet: 'IndividualCustomerCollection' }, system({ baseUrl: 'not a url' }));
    const broken = await roundTrip({ payload: 1 });
    assert.equal((broken.caught?.c4cError as { code: string }).code, 'NO_SYSTEM');
  });

  it('names the environment variable when the tenant URL is an unset ${NAME}', async () => {
    await load({ operation: 'query', entitySet: 'IndividualCustomerCollection', entitySetType: 'str' }, system({ baseUrl: '${WXBRIDGE_TEST_UNSET_TENANT}' }));
    const errors = (harness.getNode('sys').error as unknown as { args: unknown[][] }).args.map((a) => String(a[0]));
    assert.ok(
      errors.some((e) => e.includes('the tenant URL is "${WXBRIDGE_TEST_UNSET_TENANT}", but the environment variable WXBRIDGE_TEST_UNSET_TENANT is not set')),
      errors.join('\n'),
    );
  });

  it('uses msg.accessToken with a bearer-from-msg system', async () => {
    await load({ operation: 'query', entitySet: 'IndividualCustomerCollection' }, system({ authType: 'bearer-msg' }), {});
    const res = await roundTrip({ payload: 1 });
    assert.match(String((res.caught?.error as { message: string }).message), /msg.accessToken/);
    const wrong = await roundTrip({ payload: 1, accessToken: 'not-a-real-token' });
    assert.equal((wrong.caught?.c4cError as { status: number }).status, 401);
    assert.doesNotMatch(JSON.stringify(wrong.caught?.error), /not-a-real-token/);
  });

  it('uses a fixed bearer token from the system credentials', async () => {
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:saml2-bearer', client_id: DEMO_C4C.oauthClientId, assertion: DEMO_C4C.samlAssertion });
    const issued = await fetch(`${sandbox.baseUrl}/c4c/sap/bc/sec/oauth2/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    const { access_token: token } = (await issued.json()) as { access_token: string };
    await load({ operation: 'create', entitySet: 'IndividualCustomerCollection', body: 'payload', bodyType: 'msg' }, system({ authType: 'bearer' }), { sys: { token } });
    const res = await roundTrip({ payload: { LastName: 'Token', RoleCode: 'CRM000' } });
    assert.equal((res.out?.c4c as { status: number }).status, 201);
    assert.deepEqual(sandbox.c4c.customers().map((c) => c.LastName), ['Token']);
  });

  it('uses a custom service and the SAML bearer grant', async () => {
    const c = sandbox.c4c.createCustomer({ LastName: 'W', RoleCode: 'CRM000', WechatID: 'oWECHAT' });
    await load(
      { operation: 'query', entitySet: 'CustomerCommonCollection', filter: "ParentObjectID eq '" + c.ObjectID + "'" },
      system({ service: 'custom', customService: 'zindividualcustomer', authType: 'saml-bearer', clientId: DEMO_C4C.oauthClientId }),
      { sys: { assertion: DEMO_C4C.samlAssertion } },
    );
    const res = await roundTrip({ payload: 1 });
    assert.equal((res.out?.payload as Array<{ WechatID: string }>)[0].WechatID, 'oWECHAT');
    assert.equal(sandbox.c4c.stats.tokenRequests, 1);
  });
});
