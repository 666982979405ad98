/** The mesh issuer for Kubernetes: its CA Secret, the published trust bundle, token reviews and its HTTPS API. */
export * from './bundle.js';
export * from './ca-secret.js';
export * from './config.js';
export * from './review.js';
export * from './server.js';
