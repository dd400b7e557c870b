'use strict';
/**
 * UrlFetchApp: a fake that records every request and answers from a script
 * of responses the test queues (`answer(status, body)`, `failNetwork(msg)`).
 * With the queue empty it answers 200 as CompleteLogin does on success.
 * As with `muteHttpExceptions: true`, HTTP errors come back as responses;
 * a network failure is thrown, as the real fetch throws one.
 */

function response(status, body) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    getResponseCode: () => status,
    getContentText: () => text,
    getHeaders: () => ({'Content-Type': 'application/json'}),
  };
}

function createUrlFetchApp(clock) {
  const requests = [];
  const queue = [];
  return {
    service: {
      fetch(url, params) {
        requests.push({url, params, at: clock ? clock.now() : Date.now()});
        const next = queue.length ? queue.shift() : {status: 200, body: {session_id: 'sess-1', status: 'authenticated'}};
        if (next.networkError) {
          throw new Error(next.networkError);
        }
        if (!params || params.muteHttpExceptions !== true) {
          if (next.status >= 400) {
            throw new Error('Request failed for ' + url + ' returned code ' + next.status);
          }
        }
        return response(next.status, next.body);
      },
    },
    requests,
    answer(status, body = status < 300 ? {session_id: 'sess-1', status: 'authenticated'} : {error: 'status ' + status}) {
      queue.push({status, body});
    },
    failNetwork(message = 'Exception: Address unavailable') {
      queue.push({networkError: message});
    },
    /** The JSON bodies posted, parsed. */
    posted: () => requests.map((r) => JSON.parse(r.params.payload)),
  };
}

module.exports = {createUrlFetchApp};
