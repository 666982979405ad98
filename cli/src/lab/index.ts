/** The local lab's runtime, for benchmarks and tests that drive a lab in process. */
export * from './check.js';
export * from './delete.js';
export * from './down.js';
export * from './identities.js';
export * from './inspect.js';
export * from './issue.js';
export * from './lab.js';
export * from './pending.js';
export * from './up.js';
export * from './supervisor/control.js';
export * from './supervisor/spec.js';
