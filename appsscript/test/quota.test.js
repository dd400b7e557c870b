'use strict';
// pollOtp runs 1,440 times a day: a run must not read mail it has handled.
const assert = require('node:assert/strict');
const {test} = require('node:test');

const {loadScript} = require('./loadScript');

const NOW = '2026-11-29T03:00:00Z';

test('a run with no new mail lists once and reads no message', () => {
  const t = loadScript({now: NOW});
  for (let i = 1; i <= 9; i++) {
    t.Gmail.deliver({id: 'old' + i, receivedAt: Date.parse('2026-11-29T02:50:00Z') + i * 1000, text: 'código 11111' + i});
  }
  t.Gmail.deliver({id: 'handled', receivedAt: '2026-11-29T02:59:30Z', text: 'código 222222'});
  assert.equal(t.script.pollOtp(), 'ok');
  const getsBefore = t.Gmail.gets.length;
  const listsBefore = t.Gmail.queries.length;

  for (let run = 0; run < 5; run++) {
    t.clock.advance(60 * 1000);
    assert.equal(t.script.pollOtp(), 'handled-already');
  }

  assert.equal(t.Gmail.queries.length - listsBefore, 5, 'one list a run');
  assert.deepEqual(t.Gmail.gets.slice(getsBefore), [], 'no message read');
  const after = Math.floor(Date.parse('2026-11-29T02:59:30Z') / 1000) + 1;
  assert.equal(t.Gmail.queries[t.Gmail.queries.length - 1].q,
      'from:(noreply@tiflux.com) subject:(código) newer_than:1d after:' + after);
});

test('a new mail costs one minimal read and one full read; the handled one ends the look', () => {
  const t = loadScript({now: NOW});
  t.Gmail.deliver({id: 'o1', receivedAt: '2026-11-29T02:40:00Z', text: 'código 111111'});
  t.Gmail.deliver({id: 'handled', receivedAt: '2026-11-29T02:55:00Z', text: 'código 222222'});
  t.script.pollOtp();
  t.Gmail.deliver({id: 'new', receivedAt: '2026-11-29T02:59:50Z', text: 'código 333333'});
  // Should the search not narrow by after:, the handled id still stops the
  // look: the older mail behind it is not read.
  t.Gmail.options.ignoreAfter = true;
  const getsBefore = t.Gmail.gets.length;

  assert.equal(t.script.pollOtp(), 'ok');

  assert.deepEqual(t.Gmail.gets.slice(getsBefore), [{id: 'new', format: 'minimal'}, {id: 'new', format: 'full'}]);
  assert.deepEqual(t.UrlFetchApp.posted().map((b) => b.code), ['222222', '333333']);
});
