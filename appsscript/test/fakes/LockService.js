'use strict';
/**
 * LockService: a fake script lock. `holdElsewhere()` makes the next tryLock
 * fail, as when another execution holds the lock; the fake records whether
 * every lock taken was released.
 */

function createLockService() {
  const state = {held: false, heldElsewhere: false, acquired: 0, released: 0};
  const lock = {
    tryLock() {
      if (state.heldElsewhere || state.held) {
        return false;
      }
      state.held = true;
      state.acquired++;
      return true;
    },
    waitLock(ms) {
      if (!lock.tryLock(ms)) {
        throw new Error('Lock timeout: another process was holding the lock for too long.');
      }
    },
    hasLock: () => state.held,
    releaseLock() {
      if (state.held) {
        state.held = false;
        state.released++;
      }
    },
  };
  return {
    service: {getScriptLock: () => lock},
    state,
    holdElsewhere(held = true) {
      state.heldElsewhere = held;
    },
  };
}

module.exports = {createLockService};
