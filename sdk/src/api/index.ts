/** The NSM API messages as TypeScript types, and builders for them. */
export * from './builders.js';
export * from './types.js';
