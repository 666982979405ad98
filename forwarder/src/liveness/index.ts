/** Liveness of a wire: ICMP echoes from inside a namespace, a one-shot check and a continuous monitor. */
export * from './liveness.js';
export * from './ping.js';
