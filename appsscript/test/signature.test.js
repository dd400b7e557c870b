'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const {test} = require('node:test');

const {loadScript, TEST_SECRET} = require('./loadScript');

/** The vectors shared with the Go verifier's tests (shared/webhook). */
const VECTORS_FILE = path.join(__dirname, '..', '..', 'shared', 'webhook', 'testdata', 'signature_vectors.json');
const vectors = JSON.parse(fs.readFileSync(VECTORS_FILE, 'utf8'));

function nodeSignature(secret, timestamp, body) {
  return 'sha256=' + crypto.createHmac('sha256', Buffer.from(secret, 'utf8'))
      .update(Buffer.from(timestamp + '.' + body, 'utf8')).digest('hex');
}

test('the vector file covers what both verifiers must agree on', () => {
  const nonAscii = /[^\x00-\x7f]/;

  const sources = vectors.map((v) => JSON.parse(v.body).source);

  assert.ok(vectors.length >= 4);
  assert.ok(vectors.some((v) => !nonAscii.test(v.secret)), 'an ASCII secret');
  assert.ok(vectors.some((v) => nonAscii.test(v.secret)), 'a non-ASCII secret');
  assert.ok(vectors.some((v) => nonAscii.test(v.body)), 'a non-ASCII body');
  assert.ok(sources.includes('gmail') && sources.includes('manual'));
  for (const v of vectors) {
    assert.match(v.timestamp, /^\d+$/, v.name);
    assert.match(v.signature, /^sha256=[0-9a-f]{64}$/, v.name);
  }
});

for (const v of vectors) {
  test('vector "' + v.name + '" recomputed with Node crypto', () => {
    const got = nodeSignature(v.secret, v.timestamp, v.body);

    assert.equal(got, v.signature);
  });

  test('vector "' + v.name + '" recomputed by the script over the Utilities fake', () => {
    const t = loadScript();

    const got = t.script.signWebhook_(v.secret, v.timestamp, v.body);

    assert.equal(got, v.signature);
  });
}

test('the Utilities fake answers signed bytes, as Apps Script does', () => {
  const t = loadScript();

  const bytes = t.Utilities.service.computeHmacSha256Signature('1795921200.{}', TEST_SECRET, 'UTF_8');

  assert.equal(bytes.length, 32);
  assert.ok(bytes.every((b) => Number.isInteger(b) && b >= -128 && b <= 127));
  assert.ok(bytes.some((b) => b < 0), 'this input has bytes over 127, so some must come back negative');
});

test('a posted request verifies with Node crypto over the exact bytes sent', () => {
  const t = loadScript({now: '2026-11-29T03:00:00Z'});
  t.Gmail.deliver({id: '18c2f0a9b7e4d123', receivedAt: '2026-11-29T02:59:00Z', text: 'código 123456'});

  t.script.pollOtp();

  const {params} = t.UrlFetchApp.requests[0];
  const timestamp = params.headers['X-OTP-Timestamp'];
  assert.equal(params.headers['X-OTP-Signature'], nodeSignature(TEST_SECRET, timestamp, params.payload));
  assert.equal(params.payload, vectors[0].body);
  assert.equal(params.headers['X-OTP-Signature'],
      nodeSignature(TEST_SECRET, timestamp, vectors[0].body));
});

test('the body is sent as ASCII JSON, so the bytes sent are the bytes signed', () => {
  const t = loadScript();
  const raw = vectors.find((v) => /\(raw\)/.test(v.name));
  const escaped = vectors.find((v) => /escapes/.test(v.name));
  const fields = JSON.parse(raw.body);
  const otp = {code: fields.code, receivedAt: new Date(fields.received_at),
    messageId: fields.message_id, source: fields.source};

  const body = t.script.webhookBody_(otp);

  assert.equal(body, escaped.body);
  assert.match(body, /^[\x00-\x7f]*$/);
  assert.deepEqual(JSON.parse(body), fields);
});
