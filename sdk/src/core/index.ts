/** The chain machinery: elements and chains, contexts, clocks, errors, logs, per-connection metadata. */
export * from './chain.js';
export * from './clock.js';
export * from './context.js';
export * from './errors.js';
export * from './instruments.js';
export * from './log.js';
export * from './metadata.js';
export * from './registry-chain.js';
export * from './serial.js';
