/**
 * Otp: the two entry points that bring a code to CompleteLogin, from Gmail
 * (pollOtp, every minute) and from a person typing into OTP!A2 (onSheetEdit).
 */

/** How long a run waits for another run to let go of the script lock. */
var LOCK_WAIT_MS = 30 * 1000;

/** A typed code must look like one before it is posted (CONTRACT section 4). */
var MANUAL_CODE_PATTERN = /^\d{4,8}$/;

/**
 * Finds the newest code mail not handled yet, writes its code to the OTP
 * sheet and posts it to the webhook in the same run. Run by the every-minute
 * trigger that setup() creates; safe to run by hand.
 *
 * @return {string} what the run did: 'busy', 'none', 'handled-already',
 *     'no-code', 'expired', or the post's outcome ('ok', 'final', 'retry').
 */
function pollOtp() {
  var lock = LockService.getScriptLock();
  if (!lock.tryLock(LOCK_WAIT_MS)) {
    log_('pollOtp: another run holds the script lock; this run skips.');
    return 'busy';
  }
  try {
    return pollLocked_(readConfig_());
  } finally {
    lock.releaseLock();
  }
}

/**
 * @param {{webhookUrl: string, webhookSecret: string, query: string, regex: RegExp}} config
 * @return {string} see pollOtp.
 */
function pollLocked_(config) {
  var last = lastHandled_();
  var mail = newestOtpMail_(config, last);
  if (!mail) {
    log_(last.messageId ? 'pollOtp: no new mail since the last handled one (' + last.messageId + ').' :
        'pollOtp: no mail matches OTP_QUERY.');
    return last.messageId ? 'handled-already' : 'none';
  }
  if (!isUnhandled_(mail, last)) {
    log_('pollOtp: no new mail; the newest (' + mail.messageId + ') is handled already.');
    return 'handled-already';
  }

  var sheet = otpSheet_();
  var otp = {code: codeInMail_(config, mail.messageId), receivedAt: mail.receivedAt,
    messageId: mail.messageId, source: 'gmail'};
  if (!otp.code) {
    recordLogOnly_(sheet, otp, 'no code: OTP_REGEX did not match the mail');
    markHandled_(mail);
    log_('pollOtp: mail ' + mail.messageId + ' has no code matching OTP_REGEX; skipped.');
    return 'no-code';
  }
  if (isExpired_(otp)) {
    recordLogOnly_(sheet, otp, 'expired: older than 10 minutes, not posted');
    markHandled_(mail);
    log_('pollOtp: mail ' + mail.messageId + ' is older than 10 minutes; not posted.', config, otp);
    return 'expired';
  }

  recordCode_(sheet, otp, 'posting');
  var result = postCode_(config, otp);
  var status = statusText_(result);
  if (result.outcome !== 'retry') {
    markHandled_(mail);
  } else if (isExpired_(otp)) {
    markHandled_(mail);
    status += '; code now older than 10 minutes: given up';
  } else {
    status += '; the next run tries again';
  }
  updateStatus_(sheet, status);
  log_('pollOtp: mail ' + mail.messageId + ': ' + status, config, otp);
  return result.outcome;
}

/**
 * Installable edit trigger (created by setup()): when a person types a code
 * into OTP!A2, posts it with source "manual". Every other edit is ignored,
 * and so are the script's own writes, which fire no trigger.
 *
 * @param {Object} e the edit event ({range, value, oldValue, source, ...}).
 * @return {string} 'ignored', 'busy', 'invalid', or the post's outcome.
 */
function onSheetEdit(e) {
  if (!isCodeCellEdit_(e)) {
    return 'ignored';
  }
  var typed = trimmed_(e.range.getDisplayValue());
  if (!typed) {
    return 'ignored';
  }
  var lock = LockService.getScriptLock();
  if (!lock.tryLock(LOCK_WAIT_MS)) {
    log_('onSheetEdit: another run holds the script lock; type the code again.');
    return 'busy';
  }
  try {
    var config = readConfig_();
    var sheet = e.range.getSheet();
    if (!MANUAL_CODE_PATTERN.test(typed)) {
      setCurrentStatus_(sheet, 'invalid: a code is 4 to 8 digits; not posted');
      log_('onSheetEdit: OTP!A2 does not hold 4 to 8 digits; not posted.', config);
      return 'invalid';
    }
    var otp = {code: typed, receivedAt: new Date(), messageId: 'manual', source: 'manual'};
    recordCode_(sheet, otp, 'posting');
    var result = postCode_(config, otp);
    var status = statusText_(result);
    if (result.outcome === 'retry') {
      status += '; type the code again to retry';
    }
    updateStatus_(sheet, status);
    log_('onSheetEdit: manual code: ' + status, config, otp);
    return result.outcome;
  } finally {
    lock.releaseLock();
  }
}

/**
 * @param {Object} e an edit event.
 * @return {boolean} whether the edit starts at OTP!A2.
 */
function isCodeCellEdit_(e) {
  if (!e || !e.range) {
    return false;
  }
  return e.range.getSheet().getName() === OTP_SHEET_NAME &&
      e.range.getRow() === OTP_CURRENT_ROW && e.range.getColumn() === 1;
}

/**
 * @param {{receivedAt: Date}} otp
 * @return {boolean} whether the code is too old to be worth posting.
 */
function isExpired_(otp) {
  return Date.now() - otp.receivedAt.getTime() >= CODE_MAX_AGE_MS;
}

/**
 * @param {{outcome: string, httpStatus: number, detail: string}} result
 * @return {string} the status written to the sheet.
 */
function statusText_(result) {
  var answer = (result.httpStatus ? String(result.httpStatus) + ' ' : '') + result.detail;
  if (result.outcome === 'ok') {
    return 'posted: ' + answer;
  }
  if (result.outcome === 'final') {
    return 'refused: ' + answer;
  }
  return 'failed: ' + answer;
}
