/**
 * The manager (nsmgr) chain: accepts requests from local clients and remote managers, picks a local
 * forwarder and continues through it. Selection of the endpoint happens in the forwarder.
 */
import type { NetworkServiceHandler } from '../core/chain.js';
import { named, toHandler } from '../core/chain.js';
import type { NsHandler, NseHandler } from '../core/registry-chain.js';
import type { MeshClients } from '../grpc/client.js';
import { discoverForwarder } from '../networkservice/common/discoverforwarder/discoverforwarder.js';
import { ConnectionMonitor } from '../networkservice/common/monitor/monitor.js';
import type { TokenGenerator } from '../security/tokens.js';
import type { AuthorizeOptions } from '../networkservice/common/authorize/authorize.js';
import type { ChainMetrics } from '../metrics/chain.js';
import { combineInstruments, type ChainInstruments } from '../core/instruments.js';
import { nextHop } from './next-hop.js';
import { serverPrologue } from './server-prologue.js';

/** Options for `createManagerChain`. */
export interface ManagerChainOptions {
  name: string;
  nodeName: string;
  /** Registry handlers as seen by this manager (with local bypass). */
  nse: NseHandler;
  ns: NsHandler;
  pool: MeshClients;
  tokens: TokenGenerator;
  /** Policies for calls from other processes (default: allow all). */
  authorization?: AuthorizeOptions;
  forwarderServiceName?: string;
  /** Counts and times requests and their stages (`chainMetrics(registry)`); none by default. */
  metrics?: ChainMetrics;
  /** Spans of each request and its stages (`chainTracing(tracer, name)`); none by default. */
  tracing?: ChainInstruments;
}

/** A manager chain and the monitor that serves its connections. */
export interface ManagerChain {
  handler: NetworkServiceHandler;
  monitor: ConnectionMonitor;
}

/** Usage: `const { handler, monitor } = createManagerChain({ name, nodeName, nse, ns, pool, tokens })`. */
export function createManagerChain(options: ManagerChainOptions): ManagerChain {
  const monitor = new ConnectionMonitor();
  // One set of instrumentation points, fed to the tracing and the metrics alike.
  const instruments = combineInstruments(options.tracing, options.metrics);
  const select = named(
    'discoverForwarder',
    discoverForwarder({
      nse: options.nse,
      ns: options.ns,
      nodeName: options.nodeName,
      forwarderServiceName: options.forwarderServiceName ?? 'forwarder',
    }),
  );
  const handler = toHandler([
    ...(instruments ? [instruments.count()] : []),
    ...serverPrologue(options.name, options.tokens, monitor, options.authorization),
    instruments ? instruments.stage('select', select) : select,
    nextHop(options.pool, [], instruments),
  ]);
  return { handler, monitor };
}
