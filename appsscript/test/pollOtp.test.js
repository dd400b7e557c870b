'use strict';
const assert = require('node:assert/strict');
const {test} = require('node:test');

const {loadScript, plain, TEST_URL} = require('./loadScript');

const NOW = '2026-11-29T03:00:00Z';

function otpRows(t) {
  return t.SpreadsheetApp.spreadsheet.getSheetByName('OTP').dump();
}

test('the newest code is posted once, as section 4 says', () => {
  const t = loadScript({now: NOW});
  t.Gmail.deliver({id: 'older', receivedAt: '2026-11-29T02:57:00Z', text: 'Seu código é 111111.'});
  t.Gmail.deliver({id: 'newest', receivedAt: '2026-11-29T02:59:30Z', text: 'Seu código é 222222.'});

  const first = t.script.pollOtp();
  const second = t.script.pollOtp();

  assert.equal(first, 'ok');
  assert.equal(second, 'handled-already');
  assert.equal(t.UrlFetchApp.requests.length, 1);
  const {url, params} = t.UrlFetchApp.requests[0];
  assert.equal(url, TEST_URL);
  assert.equal(params.method, 'post');
  assert.equal(params.contentType, 'application/json');
  assert.equal(params.muteHttpExceptions, true);
  assert.equal(params.headers['X-OTP-Timestamp'], String(Date.parse(NOW) / 1000));
  assert.match(params.headers['X-OTP-Signature'], /^sha256=[0-9a-f]{64}$/);
  assert.equal(params.payload,
      '{"code":"222222","received_at":"2026-11-29T02:59:30Z","message_id":"newest","source":"gmail"}');
});

test('the code is written to OTP row 2 and to a log row, newest first', () => {
  const t = loadScript({now: NOW});
  t.Gmail.deliver({id: 'm1', receivedAt: '2026-11-29T02:58:00Z', text: 'código 111111'});
  t.script.pollOtp();
  t.clock.advance(60 * 1000);
  t.Gmail.deliver({id: 'm2', receivedAt: '2026-11-29T02:59:50Z', text: 'código 222222'});

  t.script.pollOtp();

  const rows = otpRows(t);
  assert.deepEqual(rows[0], ['code', 'received_at', 'message_id', 'source', 'status', 'updated_at']);
  assert.deepEqual(rows[1].slice(0, 5),
      ['222222', '2026-11-29T02:59:50Z', 'm2', 'gmail', 'posted: 200 session sess-1 authenticated']);
  assert.deepEqual(rows.slice(2).map((r) => r[2]), ['m2', 'm1']);
  assert.equal(rows.length, 4);
});

test('nothing is posted when there is no new mail', () => {
  const t = loadScript({now: NOW});

  const result = t.script.pollOtp();

  assert.equal(result, 'none');
  assert.equal(t.UrlFetchApp.requests.length, 0);
  assert.deepEqual(t.Gmail.queries.map((q) => q.q),
      ['from:(noreply@tiflux.com) subject:(código) newer_than:1d']);
});

test('mail older than the last handled one is ignored', () => {
  const t = loadScript({now: NOW});
  t.Gmail.deliver({id: 'handled', receivedAt: '2026-11-29T02:59:00Z', text: 'código 222222'});
  t.script.pollOtp();
  t.Gmail.deliver({id: 'late-but-older', receivedAt: '2026-11-29T02:58:00Z', text: 'código 111111'});
  t.Gmail.options.listOrder = 'oldest';

  const result = t.script.pollOtp();

  assert.equal(result, 'handled-already');
  assert.deepEqual(t.UrlFetchApp.posted().map((b) => b.code), ['222222']);
});

test('the newest mail wins whatever order the search answers in', () => {
  const t = loadScript({now: NOW});
  t.Gmail.options.listOrder = 'oldest';
  t.Gmail.deliver({id: 'a', receivedAt: '2026-11-29T02:55:00Z', text: 'código 111111'});
  t.Gmail.deliver({id: 'b', receivedAt: '2026-11-29T02:59:00Z', text: 'código 333333'});
  t.Gmail.deliver({id: 'c', receivedAt: '2026-11-29T02:57:00Z', text: 'código 222222'});

  t.script.pollOtp();

  assert.deepEqual(t.UrlFetchApp.posted().map((b) => b.message_id), ['b']);
});

test('the code is found in an HTML-only mail and in base64url bodies', () => {
  const t = loadScript({now: NOW});
  t.Gmail.options.bodyEncoding = 'base64url';
  t.Gmail.deliver({id: 'html', receivedAt: '2026-11-29T02:59:00Z',
    html: '<p>Seu código de acesso:</p><p><b>654321</b></p>'});

  t.script.pollOtp();

  assert.deepEqual(t.UrlFetchApp.posted().map((b) => b.code), ['654321']);
});

test('OTP_QUERY and OTP_REGEX from the script properties are used', () => {
  const t = loadScript({now: NOW, properties: {
    WEBHOOK_URL: TEST_URL, WEBHOOK_SECRET: 'test-secret-not-real',
    OTP_QUERY: 'from:(otp@example.test)', OTP_REGEX: 'token: (\\d{4})'}});
  t.Gmail.deliver({id: 'm', receivedAt: '2026-11-29T02:59:00Z', text: 'order 123456, token: 4321'});

  t.script.pollOtp();

  assert.deepEqual(t.Gmail.queries.map((q) => q.q), ['from:(otp@example.test)']);
  assert.deepEqual(t.UrlFetchApp.posted().map((b) => b.code), ['4321']);
});

test('a mail without a code is logged, marked handled and not posted', () => {
  const t = loadScript({now: NOW});
  t.Gmail.deliver({id: 'nocode', receivedAt: '2026-11-29T02:59:00Z', text: 'Bem-vindo!'});

  const first = t.script.pollOtp();
  const second = t.script.pollOtp();

  assert.equal(first, 'no-code');
  assert.equal(second, 'handled-already');
  assert.equal(t.UrlFetchApp.requests.length, 0);
  assert.match(otpRows(t)[2][4], /^no code/);
});

test('a code already 10 minutes old on its first run is not posted', () => {
  const t = loadScript({now: NOW});
  t.Gmail.deliver({id: 'old', receivedAt: '2026-11-29T02:50:00Z', text: 'código 123456'});

  const result = t.script.pollOtp();

  assert.equal(result, 'expired');
  assert.equal(t.UrlFetchApp.requests.length, 0);
  assert.equal(t.PropertiesService.store.get('LAST_HANDLED_MESSAGE_ID'), 'old');
  assert.deepEqual(otpRows(t)[1] || [], []);
});

for (const [name, properties, pattern] of [
  ['WEBHOOK_URL missing', {WEBHOOK_SECRET: 'test-secret-not-real'}, /Script property WEBHOOK_URL is not set/],
  ['WEBHOOK_URL not a URL', {WEBHOOK_URL: 'complete-login', WEBHOOK_SECRET: 'test-secret-not-real'},
    /Script property WEBHOOK_URL is not an http\(s\) URL/],
  ['WEBHOOK_SECRET missing', {WEBHOOK_URL: TEST_URL}, /Script property WEBHOOK_SECRET is not set/],
  ['OTP_REGEX invalid', {WEBHOOK_URL: TEST_URL, WEBHOOK_SECRET: 'test-secret-not-real', OTP_REGEX: '(\\d{6}'},
    /Script property OTP_REGEX is not a valid regular expression/],
]) {
  test('a clear message when ' + name, () => {
    const t = loadScript({now: NOW, properties});
    t.Gmail.deliver({id: 'm', receivedAt: '2026-11-29T02:59:00Z', text: 'código 123456'});

    assert.throws(() => t.script.pollOtp(), pattern);

    assert.match(t.Logger.text(), pattern);
    assert.equal(t.UrlFetchApp.requests.length, 0);
    assert.equal(t.LockService.state.held, false);
  });
}

test('a run skips while another holds the script lock', () => {
  const t = loadScript({now: NOW});
  t.Gmail.deliver({id: 'm', receivedAt: '2026-11-29T02:59:00Z', text: 'código 123456'});
  t.LockService.holdElsewhere();

  const result = t.script.pollOtp();

  assert.equal(result, 'busy');
  assert.equal(t.UrlFetchApp.requests.length, 0);
  assert.equal(t.Gmail.queries.length, 0);
});

test('every run releases the lock it took', () => {
  const t = loadScript({now: NOW});
  t.Gmail.deliver({id: 'm', receivedAt: '2026-11-29T02:59:00Z', text: 'código 123456'});
  t.UrlFetchApp.answer(409);

  t.script.pollOtp();
  t.script.pollOtp();

  assert.deepEqual(plain({acquired: t.LockService.state.acquired, released: t.LockService.state.released}),
      {acquired: 2, released: 2});
});
