'use strict';
/**
 * loadScript: runs the pushed script files (src/*.js) in a fresh `vm`
 * context whose globals are the fakes in fakes/, one per Apps Script
 * service, as Apps Script runs them in one global scope.
 */
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const {createClock} = require('./fakes/Clock');
const {createGmail} = require('./fakes/Gmail');
const {createLockService} = require('./fakes/LockService');
const {createLogger} = require('./fakes/Logger');
const {createPropertiesService} = require('./fakes/PropertiesService');
const {createScriptApp} = require('./fakes/ScriptApp');
const {createSpreadsheetApp} = require('./fakes/SpreadsheetApp');
const {createUrlFetchApp} = require('./fakes/UrlFetchApp');
const {createUtilities} = require('./fakes/Utilities');

const SRC = path.join(__dirname, '..', 'src');

/** Test-only secret: not a real one. */
const TEST_SECRET = 'test-secret-not-real';
const TEST_URL = 'https://example.test/CompleteLogin';

/**
 * @param {{now?: string, properties?: Object}} options the start time and the
 *     script properties (default: the two required ones set).
 * @return {Object} `script` (the context: call its functions), `clock`, and
 *     each fake's test handle by service name.
 */
function loadScript({now = '2026-11-29T03:00:00Z', properties} = {}) {
  const clock = createClock(now);
  const fakes = {
    Gmail: createGmail(),
    LockService: createLockService(),
    Logger: createLogger(),
    PropertiesService: createPropertiesService(properties || {WEBHOOK_URL: TEST_URL, WEBHOOK_SECRET: TEST_SECRET}),
    ScriptApp: createScriptApp(),
    SpreadsheetApp: createSpreadsheetApp(),
    UrlFetchApp: createUrlFetchApp(clock),
    Utilities: createUtilities(clock),
  };
  const script = vm.createContext({
    Date: clock.Date,
    Gmail: fakes.Gmail.service,
    LockService: fakes.LockService.service,
    Logger: fakes.Logger.Logger,
    console: fakes.Logger.console,
    PropertiesService: fakes.PropertiesService.service,
    ScriptApp: fakes.ScriptApp.service,
    SpreadsheetApp: fakes.SpreadsheetApp.service,
    UrlFetchApp: fakes.UrlFetchApp.service,
    Utilities: fakes.Utilities.service,
  });
  for (const file of scriptFiles()) {
    vm.runInContext(fs.readFileSync(path.join(SRC, file), 'utf8'), script, {filename: file});
  }
  return Object.assign({script, clock}, fakes);
}

/** The files clasp pushes, in name order. */
function scriptFiles() {
  return fs.readdirSync(SRC).filter((f) => f.endsWith('.js')).sort();
}

/** A value from the script's realm as a plain value of this realm. */
function plain(value) {
  return JSON.parse(JSON.stringify(value));
}

module.exports = {loadScript, scriptFiles, plain, TEST_SECRET, TEST_URL};
