import assert from 'node:assert/strict';
import { retryDelayMs } from '../../../lib/http/backoff';

describe('lib/http/backoff', () => {
  it("follows the server's Retry-After, within the cap", () => {
    assert.equal(retryDelayMs(0, 500, 8000, '2'), 2000);
    assert.equal(retryDelayMs(3, 500, 8000, 0), 0);
    assert.equal(retryDelayMs(0, 500, 8000, '120'), 8000);
  });

  it('otherwise doubles per attempt with at most a quarter of jitter, within the cap', () => {
    for (let attempt = 0; attempt < 4; attempt++) {
      const delay = retryDelayMs(attempt, 100, 10_000, 'not a number');
      assert.ok(delay >= 100 * 2 ** attempt && delay <= 125 * 2 ** attempt, `attempt ${attempt}: ${delay}`);
    }
    assert.equal(retryDelayMs(10, 500, 8000), 8000);
  });
});
