/**
 * Sheet: the OTP sheet a person reads and types into.
 *
 * Layout: row 1 the headers (code, received_at, message_id, source, status,
 * updated_at); row 2 the current code, the only cell a person edits being A2;
 * rows 3 and below a log of every code handled, newest first, trimmed to
 * OTP_LOG_MAX_ROWS. All cells are plain text, so a code keeps its leading
 * zeros and the ISO-8601 UTC times are not reinterpreted as local dates.
 */

/**
 * The OTP sheet of the spreadsheet the script is bound to, created with its
 * headers when missing.
 *
 * @return {Object} the Sheet.
 */
function otpSheet_() {
  var spreadsheet = boundSpreadsheet_();
  var sheet = spreadsheet.getSheetByName(OTP_SHEET_NAME);
  if (!sheet) {
    sheet = spreadsheet.insertSheet(OTP_SHEET_NAME);
  }
  var header = sheet.getRange(1, 1, 1, OTP_HEADERS.length);
  if (header.getValues()[0].join('\t') !== OTP_HEADERS.join('\t')) {
    header.setValues([OTP_HEADERS]);
    sheet.setFrozenRows(1);
    sheet.getRange(OTP_CURRENT_ROW, 1, OTP_LOG_MAX_ROWS + 1, OTP_HEADERS.length)
        .setNumberFormat('@');
  }
  return sheet;
}

/**
 * The spreadsheet the script is bound to.
 *
 * @return {Object} the Spreadsheet.
 */
function boundSpreadsheet_() {
  var spreadsheet = SpreadsheetApp.getActive();
  if (!spreadsheet) {
    var message = 'No spreadsheet: this script must be bound to the sheet ' +
        '(open it from the sheet with Extensions > Apps Script).';
    console.error(message);
    throw new Error(message);
  }
  return spreadsheet;
}

/**
 * Writes a code to row 2 and to a new log row below it, both with the same
 * status.
 *
 * @param {Object} sheet the OTP sheet.
 * @param {{code: string, receivedAt: Date, messageId: string, source: string}} otp
 * @param {string} status
 */
function recordCode_(sheet, otp, status) {
  var row = [otp.code, isoSeconds_(otp.receivedAt), otp.messageId, otp.source, status,
    isoSeconds_(new Date())];
  writeRow_(sheet, OTP_CURRENT_ROW, row);
  addLogRow_(sheet, row);
}

/**
 * Writes a log row only, leaving row 2 as it is (a mail that brought no
 * code, or one that came too late to post).
 *
 * @param {Object} sheet the OTP sheet.
 * @param {{code: string, receivedAt: Date, messageId: string, source: string}} otp
 * @param {string} status
 */
function recordLogOnly_(sheet, otp, status) {
  addLogRow_(sheet, [otp.code || '', isoSeconds_(otp.receivedAt), otp.messageId, otp.source,
    status, isoSeconds_(new Date())]);
}

/**
 * Updates the status of the row 2 code and of the newest log row, written
 * together by recordCode_ in the same locked run.
 *
 * @param {Object} sheet the OTP sheet.
 * @param {string} status
 */
function updateStatus_(sheet, status) {
  var cells = [[status, isoSeconds_(new Date())]];
  sheet.getRange(OTP_CURRENT_ROW, 5, 1, 2).setValues(cells);
  sheet.getRange(OTP_LOG_FIRST_ROW, 5, 1, 2).setValues(cells);
}

/**
 * Sets only the status of row 2 (a typed value that is not a code).
 *
 * @param {Object} sheet the OTP sheet.
 * @param {string} status
 */
function setCurrentStatus_(sheet, status) {
  sheet.getRange(OTP_CURRENT_ROW, 5, 1, 2).setValues([[status, isoSeconds_(new Date())]]);
}

/**
 * @param {Object} sheet
 * @param {Array} row
 */
function addLogRow_(sheet, row) {
  sheet.insertRowAfter(OTP_CURRENT_ROW);
  writeRow_(sheet, OTP_LOG_FIRST_ROW, row);
  var last = sheet.getLastRow();
  var keepUpTo = OTP_CURRENT_ROW + OTP_LOG_MAX_ROWS;
  if (last > keepUpTo) {
    sheet.deleteRows(keepUpTo + 1, last - keepUpTo);
  }
}

/**
 * @param {Object} sheet
 * @param {number} rowNumber
 * @param {Array} row
 */
function writeRow_(sheet, rowNumber, row) {
  sheet.getRange(rowNumber, 1, 1, row.length).setNumberFormat('@').setValues([row]);
}
