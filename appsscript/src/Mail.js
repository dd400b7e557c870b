/**
 * Mail: finding the newest code mail with the Gmail advanced service, which
 * needs only the gmail.readonly scope (GmailApp would need full mail access).
 */

/** How many of the newest search hits are looked at in one run. */
var MAIL_SEARCH_LIMIT = 10;

/**
 * The search of one run: OTP_QUERY, narrowed to mail received after the last
 * handled one. Gmail's search takes `after:` in epoch seconds ("Search and
 * filter messages", developers.google.com/workspace/gmail/api/guides/filtering);
 * the second after the handled mail's, so the handled mail itself is not
 * listed again. (Two code mails in the same second are not a thing: a code
 * is asked for at most every few minutes.)
 *
 * @param {{query: string}} config
 * @param {{messageId: string, receivedMs: number}} last the last handled mail.
 * @return {string}
 */
function searchQuery_(config, last) {
  if (!last.receivedMs) {
    return config.query;
  }
  return config.query + ' after:' + String(Math.floor(last.receivedMs / 1000) + 1);
}

/**
 * The newest message matching the query that was not handled yet.
 *
 * Quotas: a run with nothing new costs one messages.list call and no
 * messages.get; each new mail costs one get (format minimal) here. The list
 * is newest first, so the first handled id ends the look: everything after
 * it is older (README: quotas).
 *
 * @param {{query: string}} config
 * @param {{messageId: string, receivedMs: number}} last the last handled mail.
 * @return {?{messageId: string, receivedAt: Date}} null when the search finds nothing.
 */
function newestOtpMail_(config, last) {
  var list = Gmail.Users.Messages.list('me', {q: searchQuery_(config, last), maxResults: MAIL_SEARCH_LIMIT});
  var hits = (list && list.messages) || [];
  var newest = null;
  for (var i = 0; i < hits.length; i++) {
    if (hits[i].id === last.messageId) {
      break; // handled already, and so is everything older
    }
    // The timestamps decide which is newest, whatever the order of the hits.
    var meta = Gmail.Users.Messages.get('me', hits[i].id, {format: 'minimal'});
    var ms = Number(meta.internalDate);
    if (!newest || ms > newest.receivedAt.getTime()) {
      newest = {messageId: hits[i].id, receivedAt: new Date(ms)};
    }
  }
  return newest;
}

/**
 * The code in a message: the first match of OTP_REGEX in its text.
 *
 * @param {{regex: RegExp}} config
 * @param {string} messageId
 * @return {?string} null when the pattern is not in the mail.
 */
function codeInMail_(config, messageId) {
  var message = Gmail.Users.Messages.get('me', messageId, {format: 'full'});
  return findCode_(config.regex, mailText_(message));
}

/**
 * @param {RegExp} regex OTP_REGEX; its first group is the code when it has one.
 * @param {string} text
 * @return {?string}
 */
function findCode_(regex, text) {
  var match = regex.exec(text);
  if (!match) {
    return null;
  }
  return match.length > 1 && match[1] != null ? match[1] : match[0];
}

/**
 * The text searched for the code: subject, then the plain-text parts (the
 * HTML parts without tags when there is no plain part), then the snippet.
 *
 * @param {Object} message a Gmail API message in format 'full'.
 * @return {string}
 */
function mailText_(message) {
  var payload = message.payload || {};
  var plain = [];
  var html = [];
  collectParts_(payload, plain, html);
  var body = plain.length ? plain.join('\n') :
      html.join('\n').replace(/<[^>]*>/g, ' ').replace(/&nbsp;/g, ' ');
  return [header_(payload, 'Subject'), body, message.snippet || ''].join('\n');
}

/**
 * @param {Object} part a MessagePart.
 * @param {string[]} plain collects text/plain bodies.
 * @param {string[]} html collects text/html bodies.
 */
function collectParts_(part, plain, html) {
  var type = String(part.mimeType || '').toLowerCase();
  if (part.body && part.body.data && type === 'text/plain') {
    plain.push(partData_(part.body.data));
  } else if (part.body && part.body.data && type === 'text/html') {
    html.push(partData_(part.body.data));
  }
  var parts = part.parts || [];
  for (var i = 0; i < parts.length; i++) {
    collectParts_(parts[i], plain, html);
  }
}

/**
 * A part's body as text. The advanced service hands bytes over as a byte
 * array; the REST form is a base64url string: both are accepted.
 *
 * @param {(number[]|string)} data
 * @return {string}
 */
function partData_(data) {
  var bytes = typeof data === 'string' ? Utilities.base64DecodeWebSafe(data) : data;
  return Utilities.newBlob(bytes).getDataAsString('UTF-8');
}

/**
 * @param {Object} payload
 * @param {string} name
 * @return {string} the header's value, '' when absent.
 */
function header_(payload, name) {
  var headers = payload.headers || [];
  for (var i = 0; i < headers.length; i++) {
    if (String(headers[i].name).toLowerCase() === name.toLowerCase()) {
      return String(headers[i].value || '');
    }
  }
  return '';
}
