/**
 * Config: the script properties the OTP relay reads, their defaults, and the
 * constants every other file agrees on (sheet layout, retry budget).
 *
 * Script properties (Project Settings > Script properties):
 *   WEBHOOK_URL     required  CompleteLogin's URL (a Terraform output).
 *   WEBHOOK_SECRET  required  HMAC key, the same value as the function's OTP_WEBHOOK_SECRET.
 *   OTP_QUERY       optional  Gmail search for the code mails.
 *   OTP_REGEX       optional  where the code is in the mail; group 1 if it has one.
 */

var DEFAULT_OTP_QUERY = 'from:(noreply@tiflux.com) subject:(código) newer_than:1d';
var DEFAULT_OTP_REGEX = '\\b(\\d{6})\\b';

var OTP_SHEET_NAME = 'OTP';
var OTP_HEADERS = ['code', 'received_at', 'message_id', 'source', 'status', 'updated_at'];
/** Row 2 holds the current code; log rows start at row 3, newest first. */
var OTP_CURRENT_ROW = 2;
var OTP_LOG_FIRST_ROW = 3;
/** Log rows kept below the current row; older ones are deleted. */
var OTP_LOG_MAX_ROWS = 500;

/** A code lives 10 minutes at the web system: after that it is not worth posting. */
var CODE_MAX_AGE_MS = 10 * 60 * 1000;
/** Tries of one post inside a run, and the sleep before each retry. */
var POST_MAX_TRIES = 3;
var POST_BACKOFF_MS = [1000, 3000];

/** Script properties holding the handled state (written by the script, not by a person). */
var PROP_LAST_HANDLED_ID = 'LAST_HANDLED_MESSAGE_ID';
var PROP_LAST_HANDLED_MS = 'LAST_HANDLED_RECEIVED_MS';

/**
 * Reads and checks the script properties.
 *
 * A missing or malformed property is reported with one line that names it and
 * says where to set it, and then thrown, so the execution log shows it.
 *
 * @return {{webhookUrl: string, webhookSecret: string, query: string, regex: RegExp}}
 */
function readConfig_() {
  var props = PropertiesService.getScriptProperties();
  var url = trimmed_(props.getProperty('WEBHOOK_URL'));
  var secret = props.getProperty('WEBHOOK_SECRET') || '';
  var query = trimmed_(props.getProperty('OTP_QUERY')) || DEFAULT_OTP_QUERY;
  var pattern = trimmed_(props.getProperty('OTP_REGEX')) || DEFAULT_OTP_REGEX;

  if (!url) {
    configError_('WEBHOOK_URL', 'is not set: put the CompleteLogin URL there ' +
        '(terraform output -raw complete_login_url)');
  }
  if (!/^https?:\/\/\S+$/.test(url)) {
    configError_('WEBHOOK_URL', 'is not an http(s) URL');
  }
  if (!secret.trim()) {
    configError_('WEBHOOK_SECRET', 'is not set: put the same value as the ' +
        'function\'s OTP_WEBHOOK_SECRET there');
  }
  var regex;
  try {
    regex = new RegExp(pattern);
  } catch (e) {
    configError_('OTP_REGEX', 'is not a valid regular expression');
  }
  return {webhookUrl: url, webhookSecret: secret, query: query, regex: regex};
}

/**
 * Logs and throws the one clear line about a bad script property. The value
 * itself is never part of the message: it may be the secret.
 *
 * @param {string} name the property.
 * @param {string} problem what is wrong with it.
 */
function configError_(name, problem) {
  var message = 'Script property ' + name + ' ' + problem +
      ' (Apps Script editor > Project Settings > Script properties).';
  console.error(message);
  throw new Error(message);
}

/**
 * @param {?string} value
 * @return {string} the value without surrounding blanks, '' for null.
 */
function trimmed_(value) {
  return value == null ? '' : String(value).trim();
}
