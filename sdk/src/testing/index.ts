/** Test helpers for suites of every package. */
export * from './errors.js';
