/** memif (protocol 2.0): shared-memory packet interfaces, server and client, on a native engine. */
export {
  createMemifClient,
  createMemifServer,
  MemifClient,
  MemifServer,
  type MemifClientOptions,
  type MemifRejected,
  type MemifServerEvents,
  type MemifServerOptions,
} from './endpoint.js';
export * from './interface.js';
export { loadMemifAddon, type MemifAddon, type MemifStats } from './native.js';
export {
  MAX_SOCKET_BYTES,
  type MemifCommonOptions,
  type MemifInterfaceOptions,
  type MemifMode,
} from './options.js';
export { answerArpAndIcmp, type Responder, type ResponderOptions, type ResponderStats } from './responder.js';
export { answerFrame, inetChecksum, parseIpv4Cidr, parseMac, type Answer } from './packet.js';
export {
  createMemifBridge,
  MemifBridge,
  type MemifBridgeEvents,
  type MemifBridgeKernel,
  type MemifBridgeMemifOptions,
  type MemifBridgeOptions,
  type MemifBridgeStats,
} from './bridge.js';
export type { MemifBridgeDirection } from './native.js';
export {
  createMemifProxy,
  MemifProxy,
  type MemifProxyDown,
  type MemifProxyEnd,
  type MemifProxyEvents,
  type MemifProxyOptions,
  type MemifProxyStats,
  type MemifProxyUp,
} from './proxy.js';
export { endpointSocketOf, memifEndpoint, openMemifOf, type MemifEndpointOptions } from './mesh.js';
export { MemifProbe, probeOverMemif, type ProbeEvents, type ProbeOptions, type ProbeStats } from './probe.js';
