/**
 * Triggers: setup(), run once by hand after the script properties are set.
 */

/**
 * Checks the script properties, creates the OTP sheet, and creates the two
 * triggers: pollOtp every minute and onSheetEdit on edits of this
 * spreadsheet. Running it again creates nothing new (and removes duplicates
 * made by hand).
 *
 * @return {{pollOtp: string, onSheetEdit: string}} per trigger, 'created' or 'kept'.
 */
function setup() {
  readConfig_();
  var spreadsheet = boundSpreadsheet_();
  otpSheet_();

  var done = {
    pollOtp: ensureTrigger_('pollOtp', function(builder) {
      return builder.timeBased().everyMinutes(1).create();
    }),
    onSheetEdit: ensureTrigger_('onSheetEdit', function(builder) {
      return builder.forSpreadsheet(spreadsheet).onEdit().create();
    }),
  };
  log_('setup: pollOtp trigger ' + done.pollOtp + ', onSheetEdit trigger ' +
      done.onSheetEdit + '. The script is ready.');
  return done;
}

/**
 * Keeps exactly one trigger calling the handler.
 *
 * @param {string} handler the function the trigger runs.
 * @param {function(Object): Object} create builds the trigger from ScriptApp.newTrigger(handler).
 * @return {string} 'created' or 'kept'.
 */
function ensureTrigger_(handler, create) {
  var existing = ScriptApp.getProjectTriggers().filter(function(trigger) {
    return trigger.getHandlerFunction() === handler;
  });
  for (var i = 1; i < existing.length; i++) {
    ScriptApp.deleteTrigger(existing[i]);
  }
  if (existing.length) {
    return 'kept';
  }
  create(ScriptApp.newTrigger(handler));
  return 'created';
}
