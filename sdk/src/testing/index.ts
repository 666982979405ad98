/** Test helpers for suites of every package. */
export * from './errors.js';
export * from './root.js';
