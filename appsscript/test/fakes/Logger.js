'use strict';
/**
 * Logger: fakes of both places an Apps Script writes its execution log,
 * `Logger` and `console`; every line either receives is kept in `lines`.
 */
const util = require('node:util');

function createLogger() {
  const lines = [];
  const record = (level) => (...args) => {
    lines.push({level, text: util.format(...args)});
  };
  return {
    Logger: {log: (...args) => {
      record('Logger')(...args);
      return undefined;
    }},
    console: {log: record('log'), info: record('info'), warn: record('warn'), error: record('error')},
    lines,
    text: () => lines.map((l) => l.text).join('\n'),
  };
}

module.exports = {createLogger};
