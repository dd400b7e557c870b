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
  var line = String(message);
  var hidden = [config && config.webhookSecret, otp && otp.code];
  for (var i = 0; i < hidden.length; i++) {
    if (hidden[i]) {
      line = line.split(hidden[i]).join('[redacted]');
    }
  }
  console.log(line);
}
