/** Identities, mTLS material, tokens and authorization policies. */
export * from './files.js';
export * from './identity.js';
export * from './jwt.js';
export * from './policies.js';
export * from './spiffe.js';
export * from './tokens.js';
export * from './verify.js';
export * from './x509.js';
export * from './setup.js';
export * from './issuer.js';
