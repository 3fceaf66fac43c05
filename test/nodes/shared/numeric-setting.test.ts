import { strict as assert } from 'node:assert';
import { numericSetting } from '../../../nodes/shared/numeric-setting';

describe('nodes/shared/numeric-setting', () => {
  it('reads numbers and numeric strings from editor fields', () => {
    assert.equal(numericSetting('4.5', 1), 4.5);
    assert.equal(numericSetting(300, 1), 300);
    assert.equal(numericSetting('0', 300), 0, 'zero is a value (e.g. "no replay check"), not blank');
  });

  it('falls back for blank, missing and non-numeric values', () => {
    for (const value of ['', '  ', undefined, null, 'abc', NaN, {}]) assert.equal(numericSetting(value, 7), 7, String(value));
  });

  it('keeps the result within its bounds', () => {
    assert.equal(numericSetting('9', 4.5, 0, 4.9), 4.9);
    assert.equal(numericSetting('-3', 30, 1, 600), 1);
  });
});
