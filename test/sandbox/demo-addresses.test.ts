import { strict as assert } from 'node:assert';
import { connectUrl, DEFAULT_SANDBOX_URL, sandboxArgument, shellWord } from '../../sandbox/demo-addresses';

describe('demo addresses', () => {
  it('reaches a server listening everywhere on loopback, and brackets IPv6 addresses', () => {
    assert.equal(connectUrl('127.0.0.1', 18800), 'http://127.0.0.1:18800');
    assert.equal(connectUrl('localhost', 18800), 'http://localhost:18800');
    assert.equal(connectUrl('0.0.0.0', 18800), 'http://127.0.0.1:18800');
    assert.equal(connectUrl('', 18800), 'http://127.0.0.1:18800');
    assert.equal(connectUrl('::', 18900), 'http://[::1]:18900');
    assert.equal(connectUrl('::1', 18900), 'http://[::1]:18900');
  });

  it('adds --sandbox to a printed command exactly when the sandbox is not where the CLI looks', () => {
    assert.equal(DEFAULT_SANDBOX_URL, 'http://127.0.0.1:1890');
    assert.equal(sandboxArgument(DEFAULT_SANDBOX_URL), '');
    assert.equal(sandboxArgument(`${DEFAULT_SANDBOX_URL}/`), '');
    assert.equal(sandboxArgument('http://127.0.0.1:18900'), ' --sandbox http://127.0.0.1:18900');
    assert.equal(sandboxArgument('http://[::1]:1890'), " --sandbox 'http://[::1]:1890'");
  });

  it('quotes a word for the shell only when a shell would change it', () => {
    for (const plain of ['http://127.0.0.1:18900', 'FirstName=Anna', '地址', '--from', 'oAb-_c1']) assert.equal(shellWord(plain), plain);
    assert.equal(shellWord('http://[::1]:1'), "'http://[::1]:1'");
    assert.equal(shellWord('opening hours'), "'opening hours'");
    assert.equal(shellWord("it's"), "'it'\\''s'");
  });
});
