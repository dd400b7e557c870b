'use strict';
/**
 * Gmail: a fake of the Gmail advanced service (`Gmail.Users.Messages`).
 *
 * It holds a mailbox of messages added by the test. Where it differs from
 * the real service: the search query is recorded and only its `after:`
 * (epoch seconds) is interpreted (every message matches the rest),
 * `get` calls are recorded (quota), and `list` answers in the order set by `listOrder`
 * ('newest' first, as Gmail does in practice, or 'oldest' first to prove
 * the script does not depend on it). Part bodies come back as signed byte arrays,
 * as the advanced service hands bytes to Apps Script, or as base64url strings
 * (the REST form) with `bodyEncoding: 'base64url'`.
 */

function signedBytes(text) {
  return Array.from(Buffer.from(text, 'utf8'), (b) => (b > 127 ? b - 256 : b));
}

function createGmail() {
  const messages = [];
  const queries = [];
  const gets = [];
  const options = {listOrder: 'newest', bodyEncoding: 'bytes', ignoreAfter: false};

  function encode(text) {
    if (options.bodyEncoding === 'base64url') {
      return Buffer.from(text, 'utf8').toString('base64url');
    }
    return signedBytes(text);
  }

  function find(id) {
    const message = messages.find((m) => m.id === id);
    if (!message) {
      throw new Error('API call to gmail.users.messages.get failed with error: Not Found');
    }
    return message;
  }

  const Messages = {
    list(userId, params) {
      queries.push({userId, q: params && params.q, maxResults: params && params.maxResults});
      // `after:<epoch seconds>` is the one operator interpreted (kept when
      // at or after that second); the rest of the query matches everything.
      const after = /(?:^|\s)after:(\d+)(?:\s|$)/.exec((params && params.q) || '');
      let ordered = messages
          .filter((m) => !after || options.ignoreAfter || m.internalDate >= Number(after[1]) * 1000)
          .sort((a, b) => b.internalDate - a.internalDate);
      if (options.listOrder === 'oldest') {
        ordered.reverse();
      }
      const limit = (params && params.maxResults) || 100;
      const page = ordered.slice(0, limit).map((m) => ({id: m.id, threadId: m.id}));
      return page.length ? {messages: page, resultSizeEstimate: page.length} : {resultSizeEstimate: 0};
    },

    get(userId, id, params) {
      gets.push({id, format: (params && params.format) || 'full'});
      const message = find(id);
      const minimal = {id: message.id, threadId: message.id, labelIds: ['INBOX'],
        internalDate: String(message.internalDate)};
      if (params && params.format === 'minimal') {
        return minimal;
      }
      const parts = [];
      if (message.text != null) {
        parts.push({partId: '0', mimeType: 'text/plain', body: {size: message.text.length, data: encode(message.text)}});
      }
      if (message.html != null) {
        parts.push({partId: '1', mimeType: 'text/html', body: {size: message.html.length, data: encode(message.html)}});
      }
      return Object.assign(minimal, {
        snippet: (message.text || '').slice(0, 100),
        payload: {
          mimeType: 'multipart/alternative',
          headers: [{name: 'Subject', value: message.subject}, {name: 'From', value: message.from}],
          body: {size: 0},
          parts,
        },
      });
    },
  };

  return {
    service: {Users: {Messages}},
    options,
    queries,
    gets,
    /**
     * Delivers a message. `receivedAt` is an ISO time or epoch ms.
     * @return {string} the message id.
     */
    deliver({id, receivedAt, subject = 'Seu código de acesso', text, html, from = 'noreply@tiflux.com'}) {
      const internalDate = typeof receivedAt === 'number' ? receivedAt : Date.parse(receivedAt);
      messages.push({id, internalDate, subject, text, html, from});
      return id;
    },
  };
}

module.exports = {createGmail, signedBytes};
