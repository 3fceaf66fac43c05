import assert from 'node:assert/strict';
import { basicHeader } from '../../../lib/http/basic-auth';
import { DCN_LIMITS, authenticate, checkedCall, nestingDepth, parseDcnRequest, parseWfRequest } from '../../../lib/dcn/request';
import { DcnError, DcnHttpCall, DcnSender } from '../../../lib/dcn/types';

const ADMIN: DcnSender = { user: 'dcn-backend', password: 'sandbox-dcn-password-0008', security: 'admin', admin: true };
const HR: DcnSender = { user: 'hr-system', password: 'hr-secret', security: 'hr', admin: false };
/** Named like a qualified login, to show the whole name is matched first. */
const QUALIFIED: DcnSender = { user: 'ops@hr', password: 'ops-secret', security: 'ops', admin: false };
const SENDERS = [ADMIN, HR, QUALIFIED];

function call(overrides: Partial<DcnHttpCall> = {}): DcnHttpCall {
  return { servlet: 'http-auth', method: 'POST', parameters: {}, rawBody: '', headers: {}, ...overrides };
}

/** The DcnError fn throws (failing when it throws anything else or nothing). */
function refusal(fn: () => unknown): DcnError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DcnError, `expected a DcnError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a DcnError, but nothing was thrown');
}

const TRIP = {
  op: ':upsert',
  id: 'WID123',
  to: 'SUPAdmin',
  subject: 'Trip request approval required',
  from: 'user321',
  body: 'This is a message just used to do a test',
  received: '2009-03-29T10:07:45+05:00',
  read: false,
  priority: true,
  data: [{ id: '1', pkg: 'travel:1.0', messages: [{ id: '1', mbo: 'Trip', op: ':upsert', cols: { tripId: 'T-77', status: 'PENDING' } }] }],
};

const wf = (changes: Record<string, unknown>) => JSON.stringify({ ...TRIP, ...changes });
const withMessage = (message: Record<string, unknown>) => wf({ data: [{ id: '1', pkg: 'travel:1.0', messages: [message] }] });

describe('lib/dcn/request', () => {
  describe('authenticate', () => {
    it('takes HTTP Basic on the http-auth servlet', () => {
      assert.equal(authenticate(call({ authorization: basicHeader(ADMIN.user, ADMIN.password) }), SENDERS), ADMIN);
      assert.equal(authenticate(call({ authorization: basicHeader(HR.user, HR.password) }), SENDERS), HR);
    });

    it('refuses with 401 when credentials are missing or wrong, or sent as parameters to the http-auth servlet', () => {
      const cases: Array<[string, DcnHttpCall]> = [
        ['no credentials', call()],
        ['wrong password', call({ authorization: basicHeader(ADMIN.user, 'nope') })],
        ['unknown user', call({ authorization: basicHeader('someone', ADMIN.password) })],
        ["another sender's password", call({ authorization: basicHeader(ADMIN.user, HR.password) })],
        ['not Basic', call({ authorization: 'Bearer abc' })],
        ['parameters on http-auth', call({ parameters: { username: ADMIN.user, password: ADMIN.password } })],
      ];
      for (const [what, c] of cases) {
        const err = refusal(() => authenticate(c, SENDERS));
        assert.equal(err.status, 401, what);
        assert.equal(err.code, 'dcn_unauthorized', what);
        assert.doesNotMatch(err.message, /sandbox-dcn-password|hr-secret/, 'never echoes a password');
      }
    });

    it('takes username/password parameters on the parameters servlet, and Basic there too', () => {
      assert.equal(authenticate(call({ servlet: 'parameters', parameters: { username: HR.user, password: HR.password } }), SENDERS), HR);
      assert.equal(authenticate(call({ servlet: 'parameters', authorization: basicHeader(ADMIN.user, ADMIN.password) }), SENDERS), ADMIN);
      assert.equal(refusal(() => authenticate(call({ servlet: 'parameters', parameters: { username: HR.user } }), SENDERS)).status, 401);
      assert.equal(refusal(() => authenticate(call({ servlet: 'parameters', parameters: { username: HR.user, password: 'x' } }), SENDERS)).status, 401);
    });

    it('reads user@securityConfig as the user of that configuration, matching a sender of the whole name first', () => {
      assert.equal(authenticate(call({ authorization: basicHeader('hr-system@hr', HR.password) }), SENDERS), HR);
      assert.equal(authenticate(call({ authorization: basicHeader('dcn-backend@admin', ADMIN.password) }), SENDERS), ADMIN);
      assert.equal(refusal(() => authenticate(call({ authorization: basicHeader('hr-system@admin', HR.password) }), SENDERS)).status, 401, 'another configuration');
      assert.equal(authenticate(call({ authorization: basicHeader('ops@hr', QUALIFIED.password) }), SENDERS), QUALIFIED);
      assert.equal(refusal(() => authenticate(call({ authorization: basicHeader('ops@hr', HR.password) }), SENDERS)).status, 401);
    });

    it('never lets a sender with an empty password in', () => {
      const open: DcnSender = { user: 'open', password: '', security: 'x', admin: true };
      assert.equal(refusal(() => authenticate(call({ authorization: basicHeader('open', '') }), [open])).status, 401);
    });
  });

  describe('checkedCall', () => {
    const params = (parameters: Record<string, string>, extra: Partial<DcnHttpCall> = {}) => call({ parameters, ...extra });

    it('checks cmd, security and package, defaults the domain and takes the request from dcn_request or the body', () => {
      const checked = checkedCall(params({ cmd: 'wf', security: 'admin', dcn_request: '{"x":1}' }, { rawBody: 'ignored', headers: { 'x-a': '1' } }), ADMIN);
      assert.deepEqual(checked, { cmd: 'wf', sender: ADMIN.user, security: 'admin', package: '', domain: 'default', filter: '', request: '{"x":1}', headers: { 'x-a': '1' } });
      const dcn = checkedCall(params({ cmd: 'dcn', package: 'travel:1.0', domain: 'tenant1', dcn_filter: 'com.example.Filter' }, { rawBody: '{"messages":[]}' }), ADMIN);
      assert.equal(dcn.package, 'travel:1.0');
      assert.equal(dcn.domain, 'tenant1');
      assert.equal(dcn.filter, 'com.example.Filter');
      assert.equal(dcn.request, '{"messages":[]}');
    });

    it('refuses with 400 naming the parameter', () => {
      const cases: Array<[Record<string, string>, string, string, string]> = [
        [{}, 'cmd', 'dcn_not_supplied', 'cmd not supplied in the DCN request'],
        [{ cmd: 'sync' }, 'cmd', 'dcn_bad_cmd', 'cmd must be wf or dcn (got "sync")'],
        [{ cmd: 'wf', dcn_request: '{}' }, 'security', 'dcn_not_supplied', 'security not supplied in the DCN request'],
        [{ cmd: 'dcn', dcn_request: '{}' }, 'package', 'dcn_not_supplied', 'package not supplied in the DCN request'],
        [{ cmd: 'dcn', package: ':1.0', dcn_request: '{}' }, 'package', 'dcn_empty', 'package must not be empty'],
        [{ cmd: 'wf', security: 'admin' }, 'dcn_request', 'dcn_not_supplied', 'dcn_request not supplied in the DCN request'],
        [{ cmd: 'wf', security: 'x'.repeat(201), dcn_request: '{}' }, 'security', 'dcn_too_long', 'security is 201 characters long, more than the 200 allowed'],
        [{ cmd: 'wf', security: 'a\u0000b', dcn_request: '{}' }, 'security', 'dcn_bad_chars', 'security holds a NUL character or a broken UTF-16 surrogate'],
      ];
      for (const [parameters, field, code, message] of cases) {
        const err = refusal(() => checkedCall(params(parameters), ADMIN));
        assert.equal(err.status, 400, JSON.stringify(parameters));
        assert.equal(err.params.field, field);
        assert.equal(err.code, code);
        assert.equal(err.message, message);
      }
    });

    it('lets a non-admin sender address its own security configuration only (403), and an admin sender any', () => {
      assert.equal(checkedCall(params({ cmd: 'wf', security: 'hr', dcn_request: '{}' }), HR).security, 'hr');
      const err = refusal(() => checkedCall(params({ cmd: 'wf', security: 'default', dcn_request: '{}' }), HR));
      assert.equal(err.status, 403);
      assert.equal(err.code, 'dcn_forbidden');
      assert.deepEqual(err.params, { user: 'hr-system', own: 'hr', security: 'default' });
      assert.equal(refusal(() => checkedCall(params({ cmd: 'dcn', package: 'travel', security: 'default', dcn_request: '{}' }), HR)).status, 403);
      assert.equal(checkedCall(params({ cmd: 'dcn', package: 'travel', dcn_request: '{}' }), HR).package, 'travel', 'dcn without security');
      for (const security of ['default', 'hr', 'ops']) assert.equal(checkedCall(params({ cmd: 'wf', security, dcn_request: '{}' }), ADMIN).security, security);
    });
  });

  describe('parseWfRequest', () => {
    it('reads the documented example', () => {
      assert.deepEqual(parseWfRequest(JSON.stringify(TRIP)), {
        op: ':upsert',
        id: 'WID123',
        to: ['SUPAdmin'],
        subject: 'Trip request approval required',
        from: 'user321',
        body: 'This is a message just used to do a test',
        received: '2009-03-29T10:07:45+05:00',
        read: false,
        priority: true,
        data: [{ id: '1', pkg: 'travel:1.0', messages: [{ id: '1', mbo: 'Trip', op: ':upsert', cols: { tripId: 'T-77', status: 'PENDING' } }] }],
      });
    });

    it('takes `to` as one name, a comma-separated list or an array: trimmed, each once', () => {
      assert.deepEqual(parseWfRequest(wf({ to: 'SUPAdmin' })).to, ['SUPAdmin']);
      assert.deepEqual(parseWfRequest(wf({ to: ' jdoe, SUPAdmin ,jdoe,, ' })).to, ['jdoe', 'SUPAdmin']);
      assert.deepEqual(parseWfRequest(wf({ to: ['jdoe', ' mchan ', 'jdoe'] })).to, ['jdoe', 'mchan']);
      assert.deepEqual(parseWfRequest(JSON.stringify({ op: ':delete', id: 'WID123' })).to, [], 'a :delete may leave out to');
    });

    it('accepts ~ for : in ops (GET-encoded), ids as whole numbers, string flags and SMP\'s "data":{} without payload', () => {
      const parsed = parseWfRequest(wf({ op: '~upsert', id: 42, read: 'TRUE', priority: '', data: {} }));
      assert.equal(parsed.op, ':upsert');
      assert.equal(parsed.id, '42');
      assert.equal(parsed.read, true);
      assert.equal(parsed.priority, false);
      assert.deepEqual(parsed.data, []);
      assert.equal(parseWfRequest(withMessage({ id: 1, mbo: 'Trip', op: '~delete', cols: { tripId: 'T-1' } })).data[0].messages[0].op, ':delete');
      assert.deepEqual(parseWfRequest(JSON.stringify({ op: ':upsert', id: 'x', to: 'a' })), {
        op: ':upsert',
        id: 'x',
        to: ['a'],
        subject: '',
        from: '',
        body: '',
        received: '',
        read: false,
        priority: false,
        data: [],
      });
    });

    it('refuses each wrong field with a 400 naming it', () => {
      const message = { id: '1', mbo: 'Trip', op: ':upsert', cols: { tripId: 'T-77' } };
      const cases: Array<[string, string, string]> = [
        ['not json', 'dcn_request', 'dcn_unparsable'],
        ['[1]', 'dcn_request', 'dcn_expected_object'],
        [wf({ op: undefined }), 'op', 'dcn_not_supplied'],
        [wf({ op: ':merge' }), 'op', 'dcn_bad_op'],
        [wf({ op: 7 }), 'op', 'dcn_expected_string'],
        [wf({ id: undefined }), 'id', 'dcn_not_supplied'],
        [wf({ id: '' }), 'id', 'dcn_empty'],
        [wf({ id: 1.5 }), 'id', 'dcn_expected_string'],
        [wf({ id: 'x'.repeat(201) }), 'id', 'dcn_too_long'],
        [wf({ to: undefined }), 'to', 'dcn_not_supplied'],
        [wf({ to: ' , ' }), 'to', 'dcn_empty'],
        [wf({ to: [] }), 'to', 'dcn_empty'],
        [wf({ to: ['a', 3] }), 'to[1]', 'dcn_expected_string'],
        [wf({ to: { user: 'a' } }), 'to', 'dcn_expected_string'],
        [wf({ to: ['a', 'b'.repeat(201)] }), 'to[1]', 'dcn_too_long'],
        [wf({ subject: 5 }), 'subject', 'dcn_expected_string'],
        [wf({ subject: 's'.repeat(DCN_LIMITS.subjectChars + 1) }), 'subject', 'dcn_too_long'],
        [wf({ from: ['x'] }), 'from', 'dcn_expected_string'],
        [wf({ body: 'b'.repeat(DCN_LIMITS.bodyChars + 1) }), 'body', 'dcn_too_long'],
        [wf({ body: 'a\u0000b' }), 'body', 'dcn_bad_chars'],
        [wf({ received: 'yesterday' }), 'received', 'dcn_bad_time'],
        [wf({ received: '2009-03-29T10:07:45' }), 'received', 'dcn_bad_time'],
        [wf({ received: '2009-13-45T10:07:45Z' }), 'received', 'dcn_bad_time'],
        [wf({ read: 'yes' }), 'read', 'dcn_expected_boolean'],
        [wf({ priority: 1 }), 'priority', 'dcn_expected_boolean'],
        [wf({ data: 'none' }), 'data', 'dcn_expected_array'],
        [wf({ data: { a: 1 } }), 'data', 'dcn_expected_array'],
        [wf({ data: [5] }), 'data[0]', 'dcn_expected_object'],
        [wf({ data: [{ pkg: 'travel', messages: [message] }] }), 'data[0].id', 'dcn_not_supplied'],
        [wf({ data: [{ id: '1', messages: [message] }] }), 'data[0].pkg', 'dcn_not_supplied'],
        [wf({ data: [{ id: '1', pkg: '', messages: [message] }] }), 'data[0].pkg', 'dcn_empty'],
        [wf({ data: [{ id: '1', pkg: 'travel' }] }), 'data[0].messages', 'dcn_not_supplied'],
        [wf({ data: [{ id: '1', pkg: 'travel', messages: [] }] }), 'data[0].messages', 'dcn_empty'],
        [wf({ data: [{ id: '1', pkg: 'travel', messages: {} }] }), 'data[0].messages', 'dcn_expected_array'],
        [wf({ data: [{ id: '1', pkg: 'travel', messages: [message] }, { id: '2', pkg: 'travel', messages: [message, 'x'] }] }), 'data[1].messages[1]', 'dcn_expected_object'],
        [withMessage({ ...message, id: undefined }), 'data[0].messages[0].id', 'dcn_not_supplied'],
        [withMessage({ ...message, mbo: undefined }), 'data[0].messages[0].mbo', 'dcn_not_supplied'],
        [withMessage({ ...message, mbo: '' }), 'data[0].messages[0].mbo', 'dcn_empty'],
        [withMessage({ ...message, op: undefined }), 'data[0].messages[0].op', 'dcn_not_supplied'],
        [withMessage({ ...message, op: ' ' }), 'data[0].messages[0].op', 'dcn_empty'],
        [withMessage({ ...message, op: true }), 'data[0].messages[0].op', 'dcn_expected_string'],
        [withMessage({ ...message, cols: undefined }), 'data[0].messages[0].cols', 'dcn_not_supplied'],
        [withMessage({ ...message, cols: ['T-77'] }), 'data[0].messages[0].cols', 'dcn_expected_object'],
        [withMessage({ ...message, cols: { notes: 'n'.repeat(DCN_LIMITS.valueChars + 1) } }), 'data[0].messages[0].cols.notes', 'dcn_too_long'],
        [withMessage({ ...message, cols: { legs: [{ city: 'c'.repeat(DCN_LIMITS.valueChars + 1) }] } }), 'data[0].messages[0].cols.legs[0].city', 'dcn_too_long'],
        [withMessage({ ...message, cols: { ['a'.repeat(201)]: 1 } }), `data[0].messages[0].cols.${'a'.repeat(57)}...`, 'dcn_too_long'],
      ];
      for (const [text, field, code] of cases) {
        const err = refusal(() => parseWfRequest(text));
        assert.equal(err.status, 400, `${field}: ${text.slice(0, 80)}`);
        assert.equal(err.code, code, `${field}: ${err.message}`);
        assert.equal(err.params.field, field, err.message);
      }
    });

    it('refuses huge arrays, deep nesting and huge texts with a clear refusal, not a crash', () => {
      const manyTo = refusal(() => parseWfRequest(wf({ to: Array.from({ length: 1001 }, (_, i) => `u${i}`) })));
      assert.deepEqual([manyTo.code, manyTo.params.field, manyTo.params.count], ['dcn_too_many', 'to', 1001]);
      const manyListed = refusal(() => parseWfRequest(wf({ to: Array.from({ length: 1001 }, (_, i) => `u${i}`).join(',') })));
      assert.equal(manyListed.code, 'dcn_too_many');
      assert.equal(parseWfRequest(wf({ to: Array.from({ length: 1000 }, (_, i) => `u${i}`) })).to.length, 1000, '1000 receivers are fine');

      const request = (id: number, count: number) => ({ id: String(id), pkg: 'travel', messages: Array.from({ length: count }, (_, i) => ({ id: String(i), mbo: 'Trip', op: ':upsert', cols: { tripId: i } })) });
      const manyRequests = refusal(() => parseWfRequest(wf({ data: Array.from({ length: 1001 }, (_, i) => request(i, 1)) })));
      assert.deepEqual([manyRequests.code, manyRequests.params.field], ['dcn_too_many', 'data']);
      const manyMessages = refusal(() => parseWfRequest(wf({ data: [request(1, 6000), request(2, 4001)] })));
      assert.deepEqual([manyMessages.code, manyMessages.params.field, manyMessages.params.max], ['dcn_too_many_messages', 'data', 10_000]);
      assert.equal(parseWfRequest(wf({ data: [request(1, 6000), request(2, 4000)] })).data[1].messages.length, 4000);

      const manyCols = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`a${i}`, i]));
      assert.equal(refusal(() => parseWfRequest(withMessage({ id: '1', mbo: 'Trip', op: ':upsert', cols: manyCols }))).params.field, 'data[0].messages[0].cols');

      const deep = `{"op":":upsert","id":"x","to":"a","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
      const tooDeep = refusal(() => parseWfRequest(deep));
      assert.deepEqual([tooDeep.status, tooDeep.code, tooDeep.params.max], [400, 'dcn_too_deep', DCN_LIMITS.depth]);
      const nestedCols = { value: JSON.parse(`${'['.repeat(26)}1${']'.repeat(26)}`) as unknown };
      assert.ok(parseWfRequest(withMessage({ id: '1', mbo: 'Trip', op: ':upsert', cols: nestedCols })), '32 levels are fine');

      const huge = refusal(() => parseWfRequest(`{"op":":upsert","id":"x","to":"a","body":"${'x'.repeat(DCN_LIMITS.requestChars)}"}`));
      assert.deepEqual([huge.status, huge.code], [413, 'dcn_too_large']);
    });
  });

  describe('parseDcnRequest', () => {
    const messages = [
      { id: '1', mbo: 'Trip', op: ':upsert', cols: { tripId: 'T-77', status: 'PENDING' } },
      { id: '2', mbo: 'Trip', op: ':delete', cols: { tripId: 'T-12' } },
    ];

    it('reads a general DCN request, its package from pkg or the package parameter', () => {
      assert.deepEqual(parseDcnRequest(JSON.stringify({ pkg: 'travel:1.0', messages }), 'travel:1.0'), { id: '', pkg: 'travel:1.0', messages });
      assert.deepEqual(parseDcnRequest(JSON.stringify({ id: 'batch-7', messages }), 'travel:2.0'), { id: 'batch-7', pkg: 'travel:2.0', messages });
      assert.equal(parseDcnRequest(JSON.stringify({ pkg: 'travel:1.1', messages }), 'travel:1.0').pkg, 'travel:1.1', 'versions aside, the same package');
      assert.equal(parseDcnRequest(JSON.stringify({ messages: [{ ...messages[0], op: '~upsert' }] }), 'travel').messages[0].op, ':upsert');
      assert.equal(parseDcnRequest(JSON.stringify({ messages: [{ ...messages[0], op: 'approve' }] }), 'travel').messages[0].op, 'approve', 'a named operation');
    });

    it('refuses each wrong field with a 400 naming it', () => {
      const cases: Array<[unknown, string, string]> = [
        [{ pkg: 'leave:1.0', messages }, 'pkg', 'dcn_package_mismatch'],
        [{ pkg: 3, messages }, 'pkg', 'dcn_expected_string'],
        [{ pkg: 'travel' }, 'messages', 'dcn_not_supplied'],
        [{ messages: [] }, 'messages', 'dcn_empty'],
        [{ messages: [{ ...messages[0], cols: 'x' }] }, 'messages[0].cols', 'dcn_expected_object'],
        [{ messages: [messages[0], { ...messages[1], id: {} }] }, 'messages[1].id', 'dcn_expected_string'],
        [{ messages: Array.from({ length: 10_001 }, () => messages[1]) }, 'data', 'dcn_too_many_messages'],
      ];
      for (const [body, field, code] of cases) {
        const err = refusal(() => parseDcnRequest(JSON.stringify(body), 'travel:1.0'));
        assert.equal(err.status, 400);
        assert.equal(err.code, code, err.message);
        assert.equal(err.params.field, field, err.message);
      }
      assert.equal(refusal(() => parseDcnRequest('{"messages":', 'travel')).code, 'dcn_unparsable');
    });
  });

  describe('nestingDepth', () => {
    it('counts brackets outside strings only', () => {
      assert.equal(nestingDepth('{"a":[{"b":"[[[{{{"}]}'), 3);
      assert.equal(nestingDepth('{"a":"\\"[[[","b":[]}'), 2);
      assert.equal(nestingDepth('"plain"'), 0);
    });
  });
});
