'use strict';
/**
 * ScriptApp: a fake of the trigger API (newTrigger, getProjectTriggers,
 * deleteTrigger). Triggers are plain records; nothing fires them: tests call
 * the handlers themselves.
 */

const EventType = Object.freeze({CLOCK: 'CLOCK', ON_EDIT: 'ON_EDIT'});

function createScriptApp() {
  const triggers = [];
  let nextId = 1;

  function makeTrigger(handler, eventType, detail) {
    const id = String(nextId++);
    return Object.assign({
      getHandlerFunction: () => handler,
      getEventType: () => eventType,
      getUniqueId: () => id,
    }, {detail});
  }

  function newTrigger(handler) {
    return {
      timeBased() {
        const spec = {};
        const builder = {
          everyMinutes(n) {
            if (![1, 5, 10, 15, 30].includes(n)) {
              throw new Error('everyMinutes: 1, 5, 10, 15 or 30');
            }
            spec.everyMinutes = n;
            return builder;
          },
          create() {
            const trigger = makeTrigger(handler, EventType.CLOCK, spec);
            triggers.push(trigger);
            return trigger;
          },
        };
        return builder;
      },
      forSpreadsheet(spreadsheet) {
        return {
          onEdit() {
            return {
              create() {
                const trigger = makeTrigger(handler, EventType.ON_EDIT, {spreadsheet});
                triggers.push(trigger);
                return trigger;
              },
            };
          },
        };
      },
    };
  }

  return {
    service: {
      EventType,
      newTrigger,
      getProjectTriggers: () => triggers.slice(),
      deleteTrigger(trigger) {
        const i = triggers.indexOf(trigger);
        if (i >= 0) {
          triggers.splice(i, 1);
        }
      },
    },
    triggers,
  };
}

module.exports = {createScriptApp, EventType};
