/**
 * The endpoint (NSE) chain: the last hop of a path. It answers with the IP context from its prefixes and
 * the mechanism parameters of its side; a passthrough endpoint continues the path as a client of its
 * own manager (service chaining).
 */
import type { NetworkServiceElement, NetworkServiceHandler } from '../core/chain.js';
import { named, toHandler } from '../core/chain.js';
import { mechanisms } from '../networkservice/common/mechanisms/mechanisms.js';
import { ConnectionMonitor } from '../networkservice/common/monitor/monitor.js';
import { trimPath } from '../networkservice/common/trimpath/trimpath.js';
import { point2pointIpam } from '../networkservice/ipam/point2point/point2point.js';
import type { TokenGenerator } from '../security/tokens.js';
import type { AuthorizeOptions } from '../networkservice/common/authorize/authorize.js';
import { serverPrologue } from './server-prologue.js';
import type { ChainInstruments } from '../core/instruments.js';

/** Options for `createEndpointChain`. */
export interface EndpointChainOptions {
  name: string;
  tokens: TokenGenerator;
  /** Policies for calls from other processes (default: allow all). */
  authorization?: AuthorizeOptions;
  /** Mechanism elements this endpoint accepts, by type (e.g. `{ KERNEL: kernelEndpoint(), NOOP: noop() }`). */
  mechanisms: Record<string, NetworkServiceElement>;
  /** Address pools for point-to-point IPAM; none = the endpoint assigns no addresses. */
  cidrPrefixes?: string[];
  /** Elements of the endpoint's own function, run after IPAM. */
  elements?: NetworkServiceElement[];
  /** A passthrough endpoint's client: continues the request to the next service. */
  passthrough?: NetworkServiceElement;
  /** Spans of each request and close (`chainTracing(tracer, name)`); none by default. */
  tracing?: ChainInstruments;
}

/** An endpoint chain and the monitor serving its connections. */
export interface EndpointChain {
  handler: NetworkServiceHandler;
  monitor: ConnectionMonitor;
}

/** Usage: `createEndpointChain({ name: 'nse-1', tokens, mechanisms: { NOOP: element({}) }, cidrPrefixes: ['10.0.0.0/24'] })`. */
export function createEndpointChain(options: EndpointChainOptions): EndpointChain {
  const monitor = new ConnectionMonitor();
  const elements: NetworkServiceElement[] = [
    ...(options.tracing ? [options.tracing.count()] : []),
    ...serverPrologue(options.name, options.tokens, monitor, options.authorization),
    named('trimPath', trimPath()),
    named('mechanisms', mechanisms(options.mechanisms)),
  ];
  if (options.cidrPrefixes && options.cidrPrefixes.length > 0)
    elements.push(named('point2pointIpam', point2pointIpam(options.cidrPrefixes)));
  elements.push(...(options.elements ?? []));
  if (options.passthrough) elements.push(named('passthrough', options.passthrough));
  return { handler: toHandler(elements), monitor };
}
