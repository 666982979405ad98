/**
 * What the kernel mechanisms share: configuration, sockets per namespace, VNI bookkeeping and the
 * adoption table of a previous run's interfaces.
 */
import type { Clock } from '@nsm-ts/sdk/core';
import { realClock } from '@nsm-ts/sdk/core';
import { Code, NsmError } from '@nsm-ts/sdk/core';
import { type Logger, silentLogger } from '@nsm-ts/sdk/core';
import { type VniAllocator, createVniAllocator } from '@nsm-ts/sdk/elements';
import type { NamespaceRoots } from '../kernel/netns.js';
import { type Adoption, noAdoption, startAdoption } from './adopt.js';
import { formatAlias } from './alias.js';
import { startWireAudit } from './audit.js';
import { findUnderlayMtu } from './mtu.js';
import { NetlinkCache, type NetlinkLease } from './netlink-cache.js';
import type { WireTable } from './wire.js';

/** Everything the mechanism elements need. */
export interface KernelDeps {
  readonly log: Logger;
  readonly clock: Clock;
  /** The forwarder's name: written into every alias so forwarders never touch each other's links. */
  readonly owner: string;
  /** This node's address on the fabric ('' when unset: no VXLAN). */
  readonly tunnelIp: string;
  readonly vxlanPort: number;
  /** The node namespace (VXLAN devices are created there; their UDP sockets stay there); null: this process's. */
  readonly nodeNs: string | null;
  readonly netlinks: NetlinkCache;
  /** Leases a socket in a namespace (null: the node namespace); release it when done. */
  netlinkFor(nsPath: string | null): NetlinkLease;
  /** VNIs this forwarder hands out as the receiving side of VXLAN wires. */
  readonly vnis: VniAllocator;
  /** VNI → connection id of every VXLAN device this forwarder created (the kernel wants them unique per node). */
  readonly nodeVnis: Map<number, string>;
  /** Every wire this forwarder keeps, by connection id (its own segment's id). */
  readonly wires: WireTable;
  /** Interfaces of a previous run waiting to be adopted. */
  readonly adoption: Adoption;
  /** MTU of the interface holding the tunnel IP in the node namespace (FAILED_PRECONDITION when none does). */
  underlayMtu(): Promise<number>;
  /** Stops adoption and closes every socket. Wires stay: a restarted forwarder adopts them. */
  close(): void;
}

/** Options of {@link createKernelDeps}; `name`, `tunnelIp` and `vxlanPort` match ForwarderConfig. */
export interface KernelDepsOptions {
  readonly name: string;
  readonly tunnelIp: string;
  readonly vxlanPort: number;
  readonly log?: Logger;
  readonly clock?: Clock;
  /** Node namespace path (tests run "nodes" as namespaces); default: the process's own. */
  readonly nodeNs?: string | null;
  /** Scan for a previous run's interfaces at start (default true). */
  readonly adopt?: boolean;
  /** How long unclaimed interfaces of a previous run are kept before removal (default 60 s). */
  readonly adoptionGraceMs?: number;
  /** Where the adoption scan looks for namespaces (default /proc and /run/netns). */
  readonly namespaceRoots?: NamespaceRoots;
  /** The VNI allocator (default: a random one); injectable for tests. */
  readonly vnis?: VniAllocator;
  /** How often wires are checked for pods that are gone (default 500 ms; 0 turns the audit off). */
  readonly auditEveryMs?: number;
}

/**
 * Creates the shared dependencies and, unless disabled, scans for interfaces a previous run left.
 * Usage: `const deps = await createKernelDeps({ ...config, log }); ...; deps.close()`.
 */
export async function createKernelDeps(options: KernelDepsOptions): Promise<KernelDeps> {
  formatAlias(options.name, 'check'); // a name that cannot mark interfaces fails now, not per request
  const netlinks = new NetlinkCache(undefined, options.namespaceRoots);
  const nodeNs = options.nodeNs ?? null;
  const node = netlinks.acquire(nodeNs); // held for life: the node namespace is always in use
  let mtu: Promise<number> | undefined;
  const base = {
    log: options.log ?? silentLogger,
    clock: options.clock ?? realClock,
    owner: options.name,
    tunnelIp: options.tunnelIp,
    vxlanPort: options.vxlanPort,
    nodeNs,
    netlinks,
    netlinkFor: (nsPath: string | null) => netlinks.acquire(nsPath ?? nodeNs),
    vnis: options.vnis ?? createVniAllocator(),
    nodeVnis: new Map<number, string>(),
    wires: new Map(),
    underlayMtu(): Promise<number> {
      mtu ??= lookUpUnderlayMtu(node, options.tunnelIp).catch((err: unknown) => {
        mtu = undefined; // not cached: the address may be configured later
        throw err;
      });
      return mtu;
    },
  };
  let adoption: Adoption = noAdoption;
  try {
    if (options.adopt ?? true) {
      adoption = await startAdoption(base, {
        ...(options.adoptionGraceMs !== undefined ? { graceMs: options.adoptionGraceMs } : {}),
        ...(options.namespaceRoots ? { roots: options.namespaceRoots } : {}),
      });
    }
  } catch (err) {
    netlinks.close();
    throw err;
  }
  const deps: KernelDeps = {
    ...base,
    adoption,
    close() {
      stopAudit();
      adoption.stop();
      node.release();
      netlinks.close();
    },
  };
  const auditEveryMs = options.auditEveryMs ?? 500;
  const stopAudit =
    auditEveryMs > 0
      ? startWireAudit(deps, {
          everyMs: auditEveryMs,
          ...(options.namespaceRoots ? { roots: options.namespaceRoots } : {}),
        })
      : () => undefined;
  return deps;
}

async function lookUpUnderlayMtu(node: NetlinkLease, tunnelIp: string): Promise<number> {
  if (!tunnelIp)
    throw new NsmError(Code.FAILED_PRECONDITION, 'no tunnel IP is configured: set NSM_TUNNEL_IP');
  const found = await findUnderlayMtu(node.nl, tunnelIp);
  if (found === undefined) {
    throw new NsmError(
      Code.FAILED_PRECONDITION,
      `tunnel IP ${tunnelIp} is not an address of any interface in the node namespace: check NSM_TUNNEL_IP`,
    );
  }
  return found;
}
