export * from './archive.js';
export * from './bounds.js';
export * from './log-source.js';
export * from './redact.js';
export * from './window.js';
