'use strict';
const assert = require('node:assert/strict');
const {test} = require('node:test');

const {loadScript, plain} = require('./loadScript');

function triggerSummary(t) {
  return t.ScriptApp.triggers.map((tr) => [tr.getHandlerFunction(), tr.getEventType()]).sort();
}

test('setup() run twice leaves exactly two triggers', () => {
  const t = loadScript();

  const first = t.script.setup();
  const second = t.script.setup();

  assert.deepEqual(plain(first), {pollOtp: 'created', onSheetEdit: 'created'});
  assert.deepEqual(plain(second), {pollOtp: 'kept', onSheetEdit: 'kept'});
  assert.deepEqual(triggerSummary(t), [['onSheetEdit', 'ON_EDIT'], ['pollOtp', 'CLOCK']]);
  const clock = t.ScriptApp.triggers.find((tr) => tr.getEventType() === 'CLOCK');
  assert.equal(clock.detail.everyMinutes, 1);
  const edit = t.ScriptApp.triggers.find((tr) => tr.getEventType() === 'ON_EDIT');
  assert.equal(edit.detail.spreadsheet, t.SpreadsheetApp.spreadsheet);
});

test('setup() removes duplicate triggers made by hand', () => {
  const t = loadScript();
  t.ScriptApp.service.newTrigger('pollOtp').timeBased().everyMinutes(1).create();
  t.ScriptApp.service.newTrigger('pollOtp').timeBased().everyMinutes(5).create();

  t.script.setup();

  assert.deepEqual(triggerSummary(t), [['onSheetEdit', 'ON_EDIT'], ['pollOtp', 'CLOCK']]);
});

test('setup() creates the OTP sheet with its headers and plain-text cells', () => {
  const t = loadScript();

  t.script.setup();

  const sheet = t.SpreadsheetApp.spreadsheet.getSheetByName('OTP');
  assert.deepEqual(sheet.dump(), [['code', 'received_at', 'message_id', 'source', 'status', 'updated_at']]);
  assert.equal(sheet.getFrozenRows(), 1);
  assert.equal(sheet.getRange('A2').getNumberFormat(), '@');
});

test('setup() keeps an existing OTP sheet and its rows', () => {
  const t = loadScript();
  t.script.setup();
  t.SpreadsheetApp.typeAs('OTP', 'A2', '012345');

  t.script.setup();

  assert.equal(t.SpreadsheetApp.spreadsheet.getSheetByName('OTP').getRange('A2').getDisplayValue(), '012345');
});

test('setup() with a property missing says which, and creates no trigger', () => {
  const t = loadScript({properties: {WEBHOOK_URL: 'https://example.test/CompleteLogin'}});

  assert.throws(() => t.script.setup(), /WEBHOOK_SECRET is not set/);

  assert.equal(t.ScriptApp.triggers.length, 0);
  assert.match(t.Logger.text(), /Script property WEBHOOK_SECRET is not set/);
});

test('setup() in a script not bound to a sheet says so', () => {
  const t = loadScript();
  t.SpreadsheetApp.service.getActive = () => null;

  assert.throws(() => t.script.setup(), /must be bound to the sheet/);

  assert.equal(t.ScriptApp.triggers.length, 0);
});
