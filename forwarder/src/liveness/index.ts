/**
 * Liveness of a wire: ICMP echoes (optionally sized, don't fragment) and ARP requests from inside a
 * namespace, a one-shot check and a continuous monitor.
 */
export * from './arp.js';
export * from './liveness.js';
export * from './ping.js';
