/**
 * The originating client chain (an NSC, or the client half of a passthrough endpoint): it owns the
 * connection's lifetime, so it refreshes and heals; it talks to its node's manager.
 */
import type { Mechanism } from '../api/types.js';
import type { NetworkServiceElement, NetworkServiceHandler } from '../core/chain.js';
import { chain, named } from '../core/chain.js';
import { metadata } from '../core/metadata.js';
import type { MeshClients } from '../grpc/client.js';
import { begin } from '../networkservice/common/begin/begin.js';
import { clientInfo, type ClientInfo } from '../networkservice/common/clientinfo/clientinfo.js';
import {
  heal,
  type DataPlaneMonitor,
  type HealEvent,
  type LivenessCheck,
} from '../networkservice/common/heal/heal.js';
import { mechanismPreferences } from '../networkservice/common/mechanisms/preferences.js';
import { refresh } from '../networkservice/common/refresh/refresh.js';
import { sriovTokenClient } from '../networkservice/common/sriovtoken/sriovtoken.js';
import { updatePath } from '../networkservice/common/updatepath/updatepath.js';
import type { Tracer } from '@opentelemetry/api';
import { clientSpan } from '../tracing/chain.js';

/** Options for `createClientChain`. */
export interface ClientChainOptions {
  name: string;
  managerUrl: string;
  /** Channels to the manager; the pool's transport signs each call's token (`ClientPool({ tokens })`). */
  pool: MeshClients;
  preferences?: Mechanism[];
  livenessCheck?: LivenessCheck;
  dataPlane?: DataPlaneMonitor;
  info?: Partial<ClientInfo>;
  /** Extra client elements run last, just before the call (e.g. a kernel mechanism client). */
  extra?: NetworkServiceElement[];
  healRetryMs?: number;
  /** Heal's reports (lost, failed attempt, healed). */
  onHealEvent?: (event: HealEvent) => void;
  /** A span per request and close (each refresh and heal too), the root of its trace; none by default. */
  tracer?: Tracer;
}

/** The manager of `url` as the end of a client chain. */
export function managerHop(pool: MeshClients, url: string): NetworkServiceElement {
  const hop = (): NetworkServiceHandler => pool.get(url).networkService;
  return {
    request: (ctx, req) => hop().request(ctx, req),
    close: (ctx, conn) => hop().close(ctx, conn),
  };
}

/** Usage: `toHandler([createClientChain({ name, managerUrl, pool })])`. */
export function createClientChain(options: ClientChainOptions): NetworkServiceElement {
  const healOptions = {
    pool: options.pool,
    url: options.managerUrl,
    ...(options.livenessCheck ? { livenessCheck: options.livenessCheck } : {}),
    ...(options.dataPlane ? { dataPlane: options.dataPlane } : {}),
    ...(options.healRetryMs ? { retryMs: options.healRetryMs } : {}),
    ...(options.onHealEvent ? { onEvent: options.onHealEvent } : {}),
  };
  return chain(
    named('updatePath', updatePath(options.name)),
    named('begin', begin()),
    named('metadata', metadata('client')),
    // After begin: every event (request, refresh, heal, close) is a trace of its own.
    ...(options.tracer ? [clientSpan(options.tracer, options.name)] : []),
    named('refresh', refresh()),
    named('heal', heal(healOptions)),
    named('clientInfo', clientInfo(options.info ?? {})),
    named('mechanismPreferences', mechanismPreferences(options.preferences ?? [])),
    // A request labelled sriovToken=<pool> takes one of the pod's SR-IOV tokens (NSM_SRIOV_TOKENS_*).
    named('sriovToken', sriovTokenClient()),
    ...(options.extra ?? []),
    named('manager', managerHop(options.pool, options.managerUrl)),
  );
}
