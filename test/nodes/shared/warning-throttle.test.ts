import { strict as assert } from 'node:assert';
import { WarningThrottle } from '../../../nodes/shared/warning-throttle';

describe('nodes/shared/warning-throttle', () => {
  it('logs the first refusal of a cause, counts the rest of the window, and reports the count with the next warning', () => {
    let now = 0;
    const logged: string[] = [];
    const throttle = new WarningThrottle((t) => logged.push(t), 10_000, () => now);
    const text = (more: number) => `bad_signature${more ? ` (+${more})` : ''}`;
    throttle.report('bad_signature', text);
    for (let i = 0; i < 41; i++) {
      now += 100;
      throttle.report('bad_signature', text);
    }
    throttle.report('stale_timestamp', () => 'stale_timestamp');
    assert.deepEqual(logged, ['bad_signature', 'stale_timestamp'], 'another cause is logged at once');
    now = 10_000;
    throttle.report('bad_signature', text);
    assert.deepEqual(logged, ['bad_signature', 'stale_timestamp', 'bad_signature (+41)']);
  });
});
