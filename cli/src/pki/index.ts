/** The mesh CA: create it, issue identities, keep them on disk. */
export * from './ca.js';
export * from './files.js';
export * from './server-cert.js';
