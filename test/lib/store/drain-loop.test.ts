import assert from 'node:assert/strict';
import { DrainLoop } from '../../../lib/store';

/** A round that waits until released, counting how many started and how many ran at once. */
function gatedRounds() {
  const state = { started: 0, inside: 0, most: 0, release: () => undefined as void };
  const drain = async () => {
    state.started++;
    state.inside++;
    state.most = Math.max(state.most, state.inside);
    await new Promise<void>((resolve) => (state.release = resolve));
    state.inside--;
  };
  return { state, drain };
}

describe('lib/store DrainLoop', () => {
  it('runs one round at a time, and one more after a round during which it was kicked, however often', async () => {
    const { state, drain } = gatedRounds();
    const loop = new DrainLoop(drain, { pollMs: 60_000 });
    loop.kick();
    loop.kick();
    loop.kick();
    assert.equal(state.started, 1);
    const flushed = loop.flush();
    state.release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(state.started, 2, 'the kicks during the first round asked for one more');
    state.release();
    await flushed;
    assert.deepEqual([state.started, state.most], [2, 1]);
    await loop.stop();
  });

  it('polls without a kick, and after stop neither polls nor takes kicks', async () => {
    let rounds = 0;
    let secondRound = () => undefined as void;
    const polledTwice = new Promise<void>((resolve) => (secondRound = resolve));
    const loop = new DrainLoop(
      async () => {
        if (++rounds === 2) secondRound();
      },
      { pollMs: 10 },
    );
    assert.equal(rounds, 0, 'the first look is a poll away');
    await polledTwice;
    await loop.stop();
    const stoppedAt = rounds;
    loop.kick();
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(rounds, stoppedAt);
    assert.equal(loop.stopped, true);
  });

  it('goes on after a round that rejected', async () => {
    let rounds = 0;
    const loop = new DrainLoop(async () => {
      rounds++;
      if (rounds === 1) throw new Error('the store is down');
    }, { pollMs: 60_000 });
    await loop.flush();
    await loop.flush();
    assert.equal(rounds, 2);
    await loop.stop();
  });
});
