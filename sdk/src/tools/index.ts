/** Tools the elements and daemons share: backoff, CIDR and IP parsing, durations, environment, labels, templates, token timestamps, daemon life. */
export * from './backoff.js';
export * from './cidr/cidr.js';
export * from './cidr/ip.js';
export * from './cidr/pool-prefix.js';
export * from './daemon.js';
export * from './duration.js';
export * from './env/env.js';
export * from './labels.js';
export * from './template/selector.js';
export * from './template/template.js';
export * from './token/rfc3339.js';
