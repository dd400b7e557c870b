'use strict';
/**
 * PropertiesService: a fake with script properties only, kept in a Map.
 * Values are strings, as in Apps Script.
 */

function createPropertiesService(initial = {}) {
  const store = new Map(Object.entries(initial).map(([k, v]) => [k, String(v)]));
  const scriptProperties = {
    getProperty: (key) => (store.has(key) ? store.get(key) : null),
    setProperty(key, value) {
      store.set(key, String(value));
      return scriptProperties;
    },
    setProperties(values) {
      for (const [key, value] of Object.entries(values)) {
        store.set(key, String(value));
      }
      return scriptProperties;
    },
    deleteProperty(key) {
      store.delete(key);
      return scriptProperties;
    },
    getProperties: () => Object.fromEntries(store),
  };
  return {
    service: {getScriptProperties: () => scriptProperties},
    store,
  };
}

module.exports = {createPropertiesService};
