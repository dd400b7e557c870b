'use strict';
/**
 * Utilities: a fake of the few Utilities methods the script calls.
 *
 * `computeHmacSha256Signature(value, key[, charset])` behaves as Apps Script's:
 * value and key are strings encoded as UTF-8 (the only charset accepted
 * here) and the answer is an array of *signed* bytes, -128..127.
 * `sleep(ms)` records the pause and advances the fake clock instead of waiting.
 */
const crypto = require('node:crypto');

const Charset = Object.freeze({UTF_8: 'UTF_8', US_ASCII: 'US_ASCII'});

function toSigned(buffer) {
  return Array.from(buffer, (b) => (b > 127 ? b - 256 : b));
}

function toBuffer(bytes) {
  return Buffer.from(Array.from(bytes, (b) => b & 0xff));
}

function createUtilities(clock) {
  const sleeps = [];
  return {
    service: {
      Charset,
      computeHmacSha256Signature(value, key, charset) {
        if (typeof value !== 'string' || typeof key !== 'string') {
          throw new TypeError('fake computeHmacSha256Signature: value and key must be strings');
        }
        if (charset !== undefined && charset !== Charset.UTF_8) {
          throw new TypeError('fake computeHmacSha256Signature: only UTF_8 is supported');
        }
        return toSigned(crypto.createHmac('sha256', Buffer.from(key, 'utf8')).update(Buffer.from(value, 'utf8')).digest());
      },
      base64DecodeWebSafe(encoded) {
        return toSigned(Buffer.from(encoded, 'base64url'));
      },
      newBlob(data) {
        const buffer = typeof data === 'string' ? Buffer.from(data, 'utf8') : toBuffer(data);
        return {
          getBytes: () => toSigned(buffer),
          getDataAsString: () => buffer.toString('utf8'),
        };
      },
      sleep(ms) {
        sleeps.push(ms);
        if (clock) {
          clock.advance(ms);
        }
      },
    },
    sleeps,
  };
}

module.exports = {createUtilities, Charset};
