import assert from 'node:assert/strict';
import { basicCredentials, basicHeader, basicMatches } from '../../../lib/http/basic-auth';

describe('lib/http/basic-auth', () => {
  it('reads back what it writes, a password with colons and non-ASCII included', () => {
    assert.deepEqual(basicCredentials(basicHeader('notify', 'pa:ss 密码')), { user: 'notify', password: 'pa:ss 密码' });
  });

  it('takes the scheme name in any case, and nothing that is not Basic', () => {
    const header = basicHeader('u', 'p');
    for (const scheme of ['basic', 'BASIC', 'Basic']) assert.equal(basicMatches(header.replace('Basic', scheme), 'u', 'p'), true, scheme);
    for (const other of ['Bearer abc', 'Basic', 'Basic bm9jb2xvbg==', '', undefined]) assert.equal(basicCredentials(other), null, String(other));
  });

  it('matches only the exact credentials, and never an empty configured user', () => {
    assert.equal(basicMatches(basicHeader('u', 'p'), 'u', 'wrong'), false);
    assert.equal(basicMatches(basicHeader('u', 'p'), 'U', 'p'), false);
    assert.equal(basicMatches(basicHeader('', ''), '', ''), false);
  });
});
