'use strict';
const assert = require('node:assert/strict');
const {test} = require('node:test');

const {loadScript} = require('./loadScript');

const NOW = '2026-11-29T03:00:00Z';
const MINUTE = 60 * 1000;

function withFreshCode() {
  const t = loadScript({now: NOW});
  t.Gmail.deliver({id: 'm1', receivedAt: '2026-11-29T02:59:30Z', text: 'Seu código é 123456.'});
  return t;
}

function handledId(t) {
  return t.PropertiesService.store.get('LAST_HANDLED_MESSAGE_ID') || null;
}

test('500 then 200: retried after a backoff, then handled', () => {
  const t = withFreshCode();
  t.UrlFetchApp.answer(500);
  t.UrlFetchApp.answer(200);

  const result = t.script.pollOtp();

  assert.equal(result, 'ok');
  assert.equal(t.UrlFetchApp.requests.length, 2);
  assert.deepEqual(t.Utilities.sleeps, [1000]);
  assert.equal(handledId(t), 'm1');
});

test('each retry is signed afresh with the time it is sent at', () => {
  const t = withFreshCode();
  t.UrlFetchApp.answer(503);
  t.UrlFetchApp.answer(200);

  t.script.pollOtp();

  const stamps = t.UrlFetchApp.requests.map((r) => Number(r.params.headers['X-OTP-Timestamp']));
  assert.deepEqual(stamps, t.UrlFetchApp.requests.map((r) => Math.floor(r.at / 1000)));
  assert.equal(stamps[1] - stamps[0], 1);
});

test('404 (no pending session yet) is retried', () => {
  const t = withFreshCode();
  t.UrlFetchApp.answer(404);
  t.UrlFetchApp.answer(200);

  const result = t.script.pollOtp();

  assert.equal(result, 'ok');
  assert.equal(t.UrlFetchApp.requests.length, 2);
});

test('a network error is retried', () => {
  const t = withFreshCode();
  t.UrlFetchApp.failNetwork();
  t.UrlFetchApp.answer(200);

  const result = t.script.pollOtp();

  assert.equal(result, 'ok');
  assert.equal(t.UrlFetchApp.requests.length, 2);
});

for (const status of [400, 401, 409, 413, 422, 429]) {
  test(status + ' is final: not retried, message handled', () => {
    const t = withFreshCode();
    t.UrlFetchApp.answer(status, {error: 'refused for the test'});

    const result = t.script.pollOtp();
    const next = t.script.pollOtp();

    assert.equal(result, 'final');
    assert.equal(next, 'handled-already');
    assert.equal(t.UrlFetchApp.requests.length, 1);
    assert.deepEqual(t.Utilities.sleeps, []);
    assert.equal(handledId(t), 'm1');
    const row2 = t.SpreadsheetApp.spreadsheet.getSheetByName('OTP').dump()[1];
    assert.equal(row2[4], 'refused: ' + status + ' refused for the test');
  });
}

test('three failures in a run leave the message for the next run, which posts it again', () => {
  const t = withFreshCode();
  t.UrlFetchApp.answer(503);
  t.UrlFetchApp.answer(502);
  t.UrlFetchApp.answer(500);

  const first = t.script.pollOtp();
  t.clock.advance(MINUTE);
  const second = t.script.pollOtp();

  assert.equal(first, 'retry');
  assert.equal(second, 'ok');
  assert.equal(t.UrlFetchApp.requests.length, 4);
  assert.deepEqual(t.Utilities.sleeps, [1000, 3000]);
  assert.deepEqual(t.UrlFetchApp.posted().map((b) => b.message_id), ['m1', 'm1', 'm1', 'm1']);
  assert.equal(handledId(t), 'm1');
});

test('a code still failing is not posted once it is 10 minutes old', () => {
  const t = withFreshCode();
  for (let i = 0; i < 9; i++) {
    t.UrlFetchApp.answer(503);
  }
  t.script.pollOtp();
  t.clock.set('2026-11-29T03:05:00Z');
  t.script.pollOtp();
  const postsBefore = t.UrlFetchApp.requests.length;

  t.clock.set('2026-11-29T03:09:30Z');
  const expired = t.script.pollOtp();
  t.clock.advance(MINUTE);
  const after = t.script.pollOtp();

  assert.equal(postsBefore, 6);
  assert.equal(expired, 'expired');
  assert.equal(after, 'handled-already');
  assert.equal(t.UrlFetchApp.requests.length, 6);
  assert.equal(handledId(t), 'm1');
});

test('retries inside a run stop when the code turns 10 minutes old', () => {
  const t = loadScript({now: NOW});
  t.Gmail.deliver({id: 'm1', receivedAt: '2026-11-29T02:50:00.500Z', text: 'código 123456'});
  t.UrlFetchApp.answer(503);
  t.UrlFetchApp.answer(503);

  const result = t.script.pollOtp();

  assert.equal(result, 'retry');
  assert.equal(t.UrlFetchApp.requests.length, 1);
  assert.equal(handledId(t), 'm1');
  const row2 = t.SpreadsheetApp.spreadsheet.getSheetByName('OTP').dump()[1];
  assert.match(row2[4], /given up$/);
});

test('a newer code supersedes one still being retried', () => {
  const t = withFreshCode();
  t.UrlFetchApp.answer(503);
  t.UrlFetchApp.answer(503);
  t.UrlFetchApp.answer(503);
  t.script.pollOtp();
  t.clock.advance(MINUTE);
  t.Gmail.deliver({id: 'm2', receivedAt: '2026-11-29T03:00:30Z', text: 'código 654321'});

  t.script.pollOtp();
  t.clock.advance(MINUTE);
  const third = t.script.pollOtp();

  assert.deepEqual(t.UrlFetchApp.posted().map((b) => b.code), ['123456', '123456', '123456', '654321']);
  assert.equal(third, 'handled-already');
});
