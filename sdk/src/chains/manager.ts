/**
 * The manager (nsmgr) chain: accepts requests from local clients and remote managers, picks a local
 * forwarder and continues through it. Selection of the endpoint happens in the forwarder.
 */
import type { NetworkServiceHandler } from '../core/chain.js';
import { toHandler } from '../core/chain.js';
import { metadata } from '../core/metadata.js';
import type { NsHandler, NseHandler } from '../core/registry-chain.js';
import type { ClientPool } from '../grpc/client.js';
import { begin } from '../networkservice/common/begin/begin.js';
import { connect } from '../networkservice/common/connect/connect.js';
import { discoverForwarder } from '../networkservice/common/discoverforwarder/discoverforwarder.js';
import { ConnectionMonitor, monitorServer } from '../networkservice/common/monitor/monitor.js';
import { monitorRelay } from '../networkservice/common/monitor/monitor-relay.js';
import { timeout } from '../networkservice/common/timeout/timeout.js';
import { updatePath } from '../networkservice/common/updatepath/updatepath.js';
import { updateTokenClient, updateTokenServer } from '../networkservice/common/updatetoken/updatetoken.js';
import { validateRequest } from '../networkservice/common/validate/validate.js';
import type { TokenGenerator } from '../tools/token/token.js';

/** Options for `createManagerChain`. */
export interface ManagerChainOptions {
  name: string;
  nodeName: string;
  /** Registry handlers as seen by this manager (with local bypass). */
  nse: NseHandler;
  ns: NsHandler;
  pool: ClientPool;
  tokens: TokenGenerator;
  forwarderServiceName?: string;
}

/** A manager chain and the monitor that serves its connections. */
export interface ManagerChain {
  handler: NetworkServiceHandler;
  monitor: ConnectionMonitor;
}

/** Usage: `const { handler, monitor } = createManagerChain({ name, nodeName, nse, ns, pool, tokens })`. */
export function createManagerChain(options: ManagerChainOptions): ManagerChain {
  const monitor = new ConnectionMonitor();
  const handler = toHandler([
    validateRequest(),
    updatePath(options.name),
    begin(),
    metadata('server'),
    updateTokenServer(options.tokens),
    timeout(),
    monitorServer(monitor),
    discoverForwarder({
      nse: options.nse,
      ns: options.ns,
      nodeName: options.nodeName,
      forwarderServiceName: options.forwarderServiceName ?? 'forwarder',
    }),
    connect({
      pool: options.pool,
      client: [metadata('client'), monitorRelay(options.pool), updateTokenClient(options.tokens)],
    }),
  ]);
  return { handler, monitor };
}
