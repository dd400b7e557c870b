'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {test} = require('node:test');

const {scriptFiles} = require('./loadScript');

const ROOT = path.join(__dirname, '..');
const readJson = (file) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8'));

test('the manifest asks for exactly the scopes the script uses', () => {
  const manifest = readJson('src/appsscript.json');

  const scopes = manifest.oauthScopes.slice().sort();

  assert.deepEqual(scopes, [
    'https://www.googleapis.com/auth/gmail.readonly',
    'https://www.googleapis.com/auth/script.external_request',
    'https://www.googleapis.com/auth/script.scriptapp',
    'https://www.googleapis.com/auth/spreadsheets.currentonly',
  ]);
  assert.equal(manifest.timeZone, 'America/Sao_Paulo');
  assert.equal(manifest.runtimeVersion, 'V8');
  assert.deepEqual(manifest.dependencies.enabledAdvancedServices,
      [{userSymbol: 'Gmail', serviceId: 'gmail', version: 'v1'}]);
});

test('the script uses the Gmail advanced service, never GmailApp (full mail scope)', () => {
  const source = scriptFiles().map((f) => fs.readFileSync(path.join(ROOT, 'src', f), 'utf8')).join('\n');

  assert.doesNotMatch(source, /\b(GmailApp|MailApp|DriveApp)\s*\./);
  assert.match(source, /Gmail\.Users\.Messages/);
});

test('clasp pushes src/ only, and src/ holds only the script and its manifest', () => {
  const clasp = readJson('.clasp.json');

  const pushed = fs.readdirSync(path.join(ROOT, 'src'));

  assert.equal(clasp.rootDir, 'src');
  assert.ok(pushed.every((f) => f === 'appsscript.json' || (f.endsWith('.js') && !f.endsWith('.test.js'))), pushed.join(', '));
  assert.match(fs.readFileSync(path.join(ROOT, '.claspignore'), 'utf8'), /\*\*\/\*\.test\.js/);
});

test('the public functions are the three entry points; every other top-level function ends with _', () => {
  const source = scriptFiles().map((f) => fs.readFileSync(path.join(ROOT, 'src', f), 'utf8')).join('\n');

  const names = [...source.matchAll(/^function (\w+)\(/gm)].map((m) => m[1]);

  assert.deepEqual(names.filter((n) => !n.endsWith('_')).sort(), ['onSheetEdit', 'pollOtp', 'setup']);
});
