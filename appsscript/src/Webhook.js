/**
 * Webhook: the signed POST of a code to CompleteLogin (CONTRACT section 4),
 * and the retry rule of section 8.
 */

/**
 * Signs a webhook body the way CompleteLogin verifies it.
 *
 * @param {string} secret the shared secret (its UTF-8 bytes are the HMAC key).
 * @param {string} timestamp unix seconds as a decimal string.
 * @param {string} body the exact raw body that is sent.
 * @return {string} the X-OTP-Signature value, "sha256=" and lowercase hex.
 */
function signWebhook_(secret, timestamp, body) {
  var bytes = Utilities.computeHmacSha256Signature(
      timestamp + '.' + body, secret, Utilities.Charset.UTF_8);
  return 'sha256=' + hex_(bytes);
}

/**
 * The JSON body of section 4, fields in the contract's order. Characters
 * outside ASCII are written as \u escapes, so the bytes sent are the bytes
 * signed whatever charset UrlFetchApp would pick for a string payload.
 *
 * @param {{code: string, receivedAt: Date, messageId: string, source: string}} otp
 * @return {string}
 */
function webhookBody_(otp) {
  var json = JSON.stringify({
    code: otp.code,
    received_at: isoSeconds_(otp.receivedAt),
    message_id: otp.messageId,
    source: otp.source,
  });
  return json.replace(/[\u007f-\uffff]/g, function(c) {
    return '\\u' + ('0000' + c.charCodeAt(0).toString(16)).slice(-4);
  });
}

/**
 * Posts a code, retrying 404, 5xx and network errors inside this run (up to
 * POST_MAX_TRIES, with backoff) while the code is younger than CODE_MAX_AGE_MS.
 *
 * @param {{webhookUrl: string, webhookSecret: string}} config
 * @param {{code: string, receivedAt: Date, messageId: string, source: string}} otp
 * @return {{outcome: string, httpStatus: number, detail: string}} outcome is
 *     'ok' (2xx), 'final' (an answer that retrying cannot change) or 'retry'
 *     (still failing: worth another run while the code is fresh).
 */
function postCode_(config, otp) {
  var body = webhookBody_(otp);
  var result;
  for (var attempt = 1; attempt <= POST_MAX_TRIES; attempt++) {
    if (attempt > 1) {
      Utilities.sleep(POST_BACKOFF_MS[Math.min(attempt - 2, POST_BACKOFF_MS.length - 1)]);
      if (isExpired_(otp)) {
        break;
      }
    }
    result = postOnce_(config, body);
    // The sheet shows the detail: an echo of the secret must not land there either.
    result.detail = redacted_(result.detail, [config.webhookSecret]);
    log_('post of ' + otp.messageId + ' (' + otp.source + '), try ' + attempt + ': ' +
        result.outcome + (result.httpStatus ? ' ' + result.httpStatus : '') +
        (result.detail ? ' (' + result.detail + ')' : ''), config, otp);
    if (result.outcome !== 'retry') {
      return result;
    }
  }
  return result;
}

/**
 * One signed POST.
 *
 * @param {{webhookUrl: string, webhookSecret: string}} config
 * @param {string} body
 * @return {{outcome: string, httpStatus: number, detail: string}}
 */
function postOnce_(config, body) {
  var timestamp = String(Math.floor(Date.now() / 1000));
  var response;
  try {
    response = UrlFetchApp.fetch(config.webhookUrl, {
      method: 'post',
      contentType: 'application/json',
      payload: body,
      headers: {
        'X-OTP-Timestamp': timestamp,
        'X-OTP-Signature': signWebhook_(config.webhookSecret, timestamp, body),
      },
      muteHttpExceptions: true,
      followRedirects: false,
    });
  } catch (e) {
    return {outcome: 'retry', httpStatus: 0, detail: 'network error: ' + (e && e.message)};
  }
  var status = response.getResponseCode();
  var detail = answerDetail_(response.getContentText());
  if (status >= 200 && status < 300) {
    return {outcome: 'ok', httpStatus: status, detail: detail};
  }
  if (status === 404 || status >= 500) {
    return {outcome: 'retry', httpStatus: status, detail: detail};
  }
  return {outcome: 'final', httpStatus: status, detail: detail};
}

/**
 * The useful part of an answer body: the session and status on success, the
 * error otherwise; the contract keeps secrets out of both.
 *
 * @param {string} text
 * @return {string}
 */
function answerDetail_(text) {
  try {
    var answer = JSON.parse(text);
    if (answer && answer.error) {
      return String(answer.error);
    }
    if (answer && answer.session_id) {
      return 'session ' + answer.session_id + ' ' + (answer.status || '');
    }
  } catch (e) {
    // Not JSON (a proxy's HTML page, say): fall through to a short excerpt.
  }
  return String(text || '').slice(0, 120);
}

/**
 * @param {number[]} bytes signed bytes (-128..127), as Apps Script returns them.
 * @return {string} lowercase hex.
 */
function hex_(bytes) {
  var out = '';
  for (var i = 0; i < bytes.length; i++) {
    out += ('0' + (bytes[i] & 0xff).toString(16)).slice(-2);
  }
  return out;
}

/**
 * @param {Date} date
 * @return {string} ISO-8601 UTC to the second, e.g. 2026-11-29T03:00:00Z.
 */
function isoSeconds_(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
