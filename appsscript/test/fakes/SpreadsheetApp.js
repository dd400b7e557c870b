'use strict';
/**
 * SpreadsheetApp: a fake of the active spreadsheet, its sheets and ranges,
 * enough for the script: values, number formats, inserting and deleting rows.
 *
 * As in Sheets, writes made through the API fire no trigger. A person's edit
 * is simulated with `typeAs(sheetName, a1, text)`, which stores the text the
 * way Sheets would (digits become a number unless the cell is plain text,
 * format '@') and returns the edit event for the test to hand to the handler.
 */

function columnNumber(letters) {
  return letters.split('').reduce((n, c) => n * 26 + (c.charCodeAt(0) - 64), 0);
}

function parseA1(a1) {
  const m = /^([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?$/.exec(a1);
  if (!m) {
    throw new Error('fake getRange: unsupported A1 notation ' + a1);
  }
  const row = Number(m[2]);
  const column = columnNumber(m[1]);
  const lastRow = m[4] ? Number(m[4]) : row;
  const lastColumn = m[3] ? columnNumber(m[3]) : column;
  return [row, column, lastRow - row + 1, lastColumn - column + 1];
}

function display(value) {
  return value === null || value === undefined ? '' : String(value);
}

function createSheet(spreadsheet, name) {
  const rows = []; // rows[i][j] = {value, format}
  let frozenRows = 0;

  function cell(row, column) {
    while (rows.length < row) {
      rows.push([]);
    }
    const r = rows[row - 1];
    while (r.length < column) {
      r.push({value: '', format: ''});
    }
    return r[column - 1];
  }

  const sheet = {
    getName: () => name,
    getParent: () => spreadsheet,
    getRange(...args) {
      const [row, column, numRows = 1, numColumns = 1] = typeof args[0] === 'string' ? parseA1(args[0]) : args;
      return createRange(sheet, cell, row, column, numRows, numColumns);
    },
    getLastRow() {
      for (let i = rows.length; i > 0; i--) {
        if (rows[i - 1].some((c) => display(c.value) !== '')) {
          return i;
        }
      }
      return 0;
    },
    insertRowAfter(afterPosition) {
      while (rows.length < afterPosition) {
        rows.push([]);
      }
      rows.splice(afterPosition, 0, []);
      return sheet;
    },
    deleteRows(rowPosition, howMany) {
      rows.splice(rowPosition - 1, howMany);
    },
    setFrozenRows(n) {
      frozenRows = n;
    },
    getFrozenRows: () => frozenRows,
    /** Test helper: the display values of rows 1..getLastRow(), blank cells at the end cut. */
    dump() {
      return rows.slice(0, sheet.getLastRow()).map((r) => {
        const line = r.map((c) => display(c.value));
        while (line.length && line[line.length - 1] === '') {
          line.pop();
        }
        return line;
      });
    },
  };
  return sheet;
}

function createRange(sheet, cell, row, column, numRows, numColumns) {
  const each = (fn) => {
    const out = [];
    for (let i = 0; i < numRows; i++) {
      const line = [];
      for (let j = 0; j < numColumns; j++) {
        line.push(fn(cell(row + i, column + j), i, j));
      }
      out.push(line);
    }
    return out;
  };
  const range = {
    getSheet: () => sheet,
    getRow: () => row,
    getColumn: () => column,
    getNumRows: () => numRows,
    getNumColumns: () => numColumns,
    getValues: () => each((c) => c.value),
    getValue: () => cell(row, column).value,
    getDisplayValues: () => each((c) => display(c.value)),
    getDisplayValue: () => display(cell(row, column).value),
    getNumberFormat: () => cell(row, column).format,
    setValues(values) {
      if (values.length !== numRows || values.some((line) => line.length !== numColumns)) {
        throw new Error('The number of rows or columns in the data does not match the range.');
      }
      each((c, i, j) => {
        c.value = values[i][j];
      });
      return range;
    },
    setValue(value) {
      each((c) => {
        c.value = value;
      });
      return range;
    },
    setNumberFormat(format) {
      each((c) => {
        c.format = format;
      });
      return range;
    },
  };
  return range;
}

function createSpreadsheetApp() {
  const sheets = [];
  const spreadsheet = {
    getId: () => 'fake-spreadsheet-id',
    getSheetByName: (name) => sheets.find((s) => s.getName() === name) || null,
    insertSheet(name) {
      if (spreadsheet.getSheetByName(name)) {
        throw new Error('A sheet with the name "' + name + '" already exists.');
      }
      const sheet = createSheet(spreadsheet, name);
      sheets.push(sheet);
      return sheet;
    },
    getSheets: () => sheets.slice(),
  };
  spreadsheet.insertSheet('Sheet1');

  return {
    service: {
      getActive: () => spreadsheet,
      getActiveSpreadsheet: () => spreadsheet,
    },
    spreadsheet,
    /** A person types text into a cell; returns the edit event. */
    typeAs(sheetName, a1, text) {
      const sheet = spreadsheet.getSheetByName(sheetName) || spreadsheet.insertSheet(sheetName);
      const range = sheet.getRange(a1);
      const oldValue = range.getDisplayValue();
      const asNumber = /^\d+$/.test(text) && range.getNumberFormat() !== '@';
      range.setValue(asNumber ? Number(text) : text);
      return {range, value: range.getDisplayValue(), oldValue, source: spreadsheet, authMode: 'FULL', triggerUid: 'fake-trigger'};
    },
  };
}

module.exports = {createSpreadsheetApp};
