'use strict';
/**
 * Clock: a controllable time for the script under test.
 *
 * The script reads time through `Date.now()` and `new Date()`; the harness
 * puts `Date` into the script's context, so both answer the fake time.
 * `Utilities.sleep` advances it, so backoff takes no real time.
 */

/**
 * @param {string} startIso the time the test starts at.
 * @return {{Date: Function, now: function(): number, set: function(string|number), advance: function(number)}}
 */
function createClock(startIso) {
  let nowMs = Date.parse(startIso);

  class FakeDate extends Date {
    constructor(...args) {
      if (args.length === 0) {
        super(nowMs);
      } else {
        super(...args);
      }
    }

    static now() {
      return nowMs;
    }
  }

  return {
    Date: FakeDate,
    now: () => nowMs,
    set: (time) => {
      nowMs = typeof time === 'number' ? time : Date.parse(time);
    },
    advance: (ms) => {
      nowMs += ms;
    },
  };
}

module.exports = {createClock};
