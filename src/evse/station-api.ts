/** @deprecated moved to port.ts; removed once every importer uses it. */
export * from './port.js';
