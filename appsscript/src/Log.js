/**
 * Log: the one way this script writes to the execution log.
 */

/**
 * Logs a line to the execution log, with the webhook secret and the code
 * blanked out should either ever reach a message (an exception's text, say).
 *
 * @param {string} message
 * @param {{webhookSecret: string}=} config
 * @param {{code: string}=} otp
 */
function log_(message, config, otp) {
  console.log(redacted_(message, [config && config.webhookSecret, otp && otp.code]));
}

/**
 * @param {string} text
 * @param {Array<?string>} hidden values to blank out; empty ones are skipped.
 * @return {string} the text with every hidden value replaced by [redacted].
 */
function redacted_(text, hidden) {
  var out = String(text);
  for (var i = 0; i < hidden.length; i++) {
    if (hidden[i]) {
      out = out.split(hidden[i]).join('[redacted]');
    }
  }
  return out;
}
