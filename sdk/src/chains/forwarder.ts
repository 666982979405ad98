/**
 * The forwarder chain: selects the endpoint (discover + round-robin), accepts the mechanism of the
 * previous hop, offers the next hop its own (local for an endpoint on this node, VXLAN toward another
 * node), and lets the mechanism elements build the wire once both sides are known.
 */
import type { NetworkServiceElement } from '../core/chain.js';
import { chain, named, toHandler } from '../core/chain.js';
import type { NsHandler, NseHandler } from '../core/registry-chain.js';
import type { MeshClients } from '../grpc/client.js';
import { discoverCandidates } from '../networkservice/common/discover/discover.js';
import { mechanisms } from '../networkservice/common/mechanisms/mechanisms.js';
import { ConnectionMonitor } from '../networkservice/common/monitor/monitor.js';
import {
  exposeNextHopMechanism,
  nextHopMechanism,
  type OfferFn,
} from '../networkservice/common/nexthop/nexthop-mechanism.js';
import { netsvcMonitor } from '../networkservice/common/netsvcmonitor/netsvcmonitor.js';
import { roundRobin } from '../networkservice/common/roundrobin/roundrobin.js';
import type { TokenGenerator } from '../security/tokens.js';
import type { AuthorizeOptions } from '../networkservice/common/authorize/authorize.js';
import type { ChainMetrics } from '../metrics/chain.js';
import { combineInstruments, type ChainInstruments } from '../core/instruments.js';
import { nextHop } from './next-hop.js';
import { serverPrologue } from './server-prologue.js';
import type { ManagerChain } from './manager.js';

/** Options for `createForwarderChain`. */
export interface ForwarderChainOptions {
  name: string;
  nse: NseHandler;
  ns: NsHandler;
  pool: MeshClients;
  tokens: TokenGenerator;
  /** Policies for calls from other processes (default: allow all). */
  authorization?: AuthorizeOptions;
  /** Mechanism elements accepted from the previous hop, by type; each builds its side of the wire. */
  mechanisms: Record<string, NetworkServiceElement>;
  /** What to offer the next hop. */
  offer: OfferFn;
  /** This forwarder's node: endpoints on it are preferred among equal candidates. */
  nodeName?: string;
  /** How long a request that no endpoint matches waits for one to register (default 0: not at all). */
  discoverWaitMs?: number;
  /** Counts and times requests and their stages (`chainMetrics(registry)`); none by default. */
  metrics?: ChainMetrics;
  /** Spans of each request and its stages (`chainTracing(tracer, name)`); none by default. */
  tracing?: ChainInstruments;
}

/** Usage: `createForwarderChain({ name, nse, ns, pool, tokens, mechanisms: { NOOP: noop() }, offer })`. */
export function createForwarderChain(options: ForwarderChainOptions): ManagerChain {
  const monitor = new ConnectionMonitor();
  // One set of instrumentation points, fed to the tracing and the metrics alike.
  const instruments = combineInstruments(options.tracing, options.metrics);
  // Selection is discover and round-robin; the wire is built by the mechanism elements.
  const select = chain(
    named(
      'discover',
      discoverCandidates({ nse: options.nse, ns: options.ns, waitMs: options.discoverWaitMs ?? 0 }),
    ),
    named('roundRobin', roundRobin(options.nodeName ? { nodeName: options.nodeName } : {})),
  );
  const wire = named('mechanisms', mechanisms(options.mechanisms));
  const handler = toHandler([
    ...(instruments ? [instruments.count()] : []),
    ...serverPrologue(options.name, options.tokens, monitor, options.authorization),
    instruments ? instruments.stage('select', select) : select,
    named('netsvcMonitor', netsvcMonitor({ nse: options.nse, ns: options.ns })),
    named('exposeNextHopMechanism', exposeNextHopMechanism()),
    instruments ? instruments.stage('wire', wire) : wire,
    nextHop(options.pool, [named('nextHopMechanism', nextHopMechanism(options.offer))], instruments),
  ]);
  return { handler, monitor };
}
