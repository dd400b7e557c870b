'use strict';
const assert = require('node:assert/strict');
const {test} = require('node:test');

const {loadScript} = require('./loadScript');

const NOW = '2026-11-29T03:00:00Z';

function afterSetup() {
  const t = loadScript({now: NOW});
  t.script.setup();
  return t;
}

test('a person typing a code into OTP!A2 posts it with source manual', () => {
  const t = afterSetup();
  const edit = t.SpreadsheetApp.typeAs('OTP', 'A2', '048213');

  const result = t.script.onSheetEdit(edit);

  assert.equal(result, 'ok');
  assert.deepEqual(t.UrlFetchApp.posted(),
      [{code: '048213', received_at: '2026-11-29T03:00:00Z', message_id: 'manual', source: 'manual'}]);
  const rows = t.SpreadsheetApp.spreadsheet.getSheetByName('OTP').dump();
  assert.deepEqual(rows[1].slice(0, 5),
      ['048213', '2026-11-29T03:00:00Z', 'manual', 'manual', 'posted: 200 session sess-1 authenticated']);
  assert.deepEqual(rows[2].slice(0, 4), ['048213', '2026-11-29T03:00:00Z', 'manual', 'manual']);
});

for (const [name, sheet, a1, text] of [
  ['another cell of row 2', 'OTP', 'B2', '123456'],
  ['a log row', 'OTP', 'A3', '123456'],
  ['the header', 'OTP', 'A1', 'code'],
  ['A2 of another sheet', 'Sheet1', 'A2', '123456'],
  ['OTP!A2 cleared', 'OTP', 'A2', ''],
]) {
  test('an edit of ' + name + ' posts nothing', () => {
    const t = afterSetup();
    const edit = t.SpreadsheetApp.typeAs(sheet, a1, text);

    const result = t.script.onSheetEdit(edit);

    assert.equal(result, 'ignored');
    assert.equal(t.UrlFetchApp.requests.length, 0);
  });
}

test('text in OTP!A2 that is not 4 to 8 digits is not posted', () => {
  const t = afterSetup();
  const edit = t.SpreadsheetApp.typeAs('OTP', 'A2', '12ab56');

  const result = t.script.onSheetEdit(edit);

  assert.equal(result, 'invalid');
  assert.equal(t.UrlFetchApp.requests.length, 0);
  assert.match(t.SpreadsheetApp.spreadsheet.getSheetByName('OTP').dump()[1][4], /^invalid/);
});

test('a manual code failing with 503 is retried in the run, and 422 is not', () => {
  const t = afterSetup();
  t.UrlFetchApp.answer(503);
  t.UrlFetchApp.answer(422, {error: 'code refused'});

  const result = t.script.onSheetEdit(t.SpreadsheetApp.typeAs('OTP', 'A2', '123456'));

  assert.equal(result, 'final');
  assert.equal(t.UrlFetchApp.requests.length, 2);
});

test('the script writing the sheet posts nothing by itself', () => {
  const t = afterSetup();
  t.Gmail.deliver({id: 'm1', receivedAt: '2026-11-29T02:59:00Z', text: 'código 123456'});

  t.script.pollOtp();

  assert.equal(t.UrlFetchApp.requests.length, 1);
  assert.equal(t.UrlFetchApp.posted()[0].source, 'gmail');
});
