'use strict';
const assert = require('node:assert/strict');
const {test} = require('node:test');

const {loadScript, TEST_SECRET} = require('./loadScript');

const CODE = '482913';

test('neither the secret nor the code reaches the log, on success or failure', () => {
  const t = loadScript({now: '2026-11-29T03:00:00Z'});
  t.script.setup();
  t.Gmail.deliver({id: 'ok', receivedAt: '2026-11-29T02:59:50Z', text: 'código ' + CODE});
  t.UrlFetchApp.answer(200);
  t.UrlFetchApp.failNetwork('Exception: DNS error for ' + TEST_SECRET + ' ' + CODE);
  t.UrlFetchApp.answer(500, 'upstream said ' + CODE);
  t.UrlFetchApp.answer(503, {error: 'web system failed'});
  t.UrlFetchApp.answer(409, {error: 'stale code ' + CODE});
  t.UrlFetchApp.answer(422, {error: 'code refused'});

  t.script.pollOtp();
  t.Gmail.deliver({id: 'retried', receivedAt: '2026-11-29T03:00:10Z', text: 'código ' + CODE});
  t.script.pollOtp();
  t.clock.advance(60 * 1000);
  t.script.pollOtp();
  t.script.onSheetEdit(t.SpreadsheetApp.typeAs('OTP', 'A2', CODE));
  t.clock.advance(20 * 60 * 1000);
  t.Gmail.deliver({id: 'expired', receivedAt: '2026-11-29T03:05:00Z', text: 'código ' + CODE});
  t.script.pollOtp();

  const outcomes = t.Logger.lines.map((l) => l.text).join('\n');
  assert.equal(t.UrlFetchApp.requests.length, 6);
  assert.match(outcomes, /ok 200/);
  assert.match(outcomes, /network error/);
  assert.match(outcomes, /retry 500/);
  assert.match(outcomes, /final 409/);
  assert.match(outcomes, /final 422/);
  assert.match(outcomes, /older than 10 minutes/);
  assert.ok(!outcomes.includes(TEST_SECRET), 'the secret was logged');
  assert.ok(!outcomes.includes(CODE), 'the code was logged');
  const cells = t.SpreadsheetApp.spreadsheet.getSheets().map((s) => JSON.stringify(s.dump())).join('\n');
  assert.ok(!cells.includes(TEST_SECRET), 'the secret was written to the sheet');
});
