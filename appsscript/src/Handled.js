/**
 * Handled: which mail was dealt with last, kept in script properties.
 *
 * A mail is handled once its code was accepted, refused for good, or found
 * too old to post. A mail whose post still fails (404, 5xx, network) is left
 * unhandled, so the next run finds it again and retries, until the code is
 * CODE_MAX_AGE_MS old.
 */

/**
 * @return {{messageId: string, receivedMs: number}} the last handled mail;
 *     '' and 0 before the first.
 */
function lastHandled_() {
  var props = PropertiesService.getScriptProperties();
  return {
    messageId: props.getProperty(PROP_LAST_HANDLED_ID) || '',
    receivedMs: Number(props.getProperty(PROP_LAST_HANDLED_MS)) || 0,
  };
}

/**
 * @param {{messageId: string, receivedAt: Date}} mail
 * @param {{messageId: string, receivedMs: number}} last the last handled mail.
 * @return {boolean} whether the mail is newer than the last one handled.
 */
function isUnhandled_(mail, last) {
  return mail.messageId !== last.messageId && mail.receivedAt.getTime() > last.receivedMs;
}

/**
 * @param {{messageId: string, receivedAt: Date}} mail
 */
function markHandled_(mail) {
  var values = {};
  values[PROP_LAST_HANDLED_ID] = mail.messageId;
  values[PROP_LAST_HANDLED_MS] = String(mail.receivedAt.getTime());
  PropertiesService.getScriptProperties().setProperties(values);
}
