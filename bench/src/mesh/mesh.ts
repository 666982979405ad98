/**
 * An in-process mesh for tests and benchmarks: a registry, and per node a manager and a forwarder, all
 * real gRPC servers (unix sockets for node-local traffic, loopback TCP between nodes). Every component
 * can be stopped and started again on the same URL. Endpoints and clients are the public SDK. By
 * default it is secured as the lab is: a mesh CA, an X.509-SVID per component, mTLS everywhere and the
 * policies on in the daemons (`secure: false` runs it in insecure mode, for comparison).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEndpoint, type Endpoint, type EndpointOptions } from '@nsm-ts/sdk';
import { createClient, type ClientOptions, type MeshClientHandle } from '@nsm-ts/sdk';
import { element } from '@nsm-ts/sdk/core';
import { silentLogger, type Logger, type NsElement, type NseElement } from '@nsm-ts/sdk/core';
import { createServer, dial, type DialOptions, type MeshClient } from '@nsm-ts/sdk/grpc';
import { createRegistryServer } from '@nsm-ts/sdk/registry';
import { startManager, type RunningManager } from '@nsm-ts/manager';
import { startForwarder, type ForwarderDataplane, type RunningForwarder } from '@nsm-ts/forwarder';
import { createKernelDataplane } from '@nsm-ts/forwarder/mechanisms';
import { securityOf, type Identity } from '@nsm-ts/sdk/security';
import { freePort } from './ports.js';
import { MeshPki } from './pki.js';

/** Something that can be stopped and started again. */
export interface Restartable {
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function restartable(open: () => Promise<{ close(): Promise<void> }>): Restartable {
  let current: { close(): Promise<void> } | undefined;
  return {
    get running() {
      return current !== undefined;
    },
    async start() {
      if (!current) current = await open();
    },
    async stop() {
      const c = current;
      current = undefined;
      await c?.close();
    },
  };
}

/**
 * A control-plane data plane: the forwarder's own mechanisms (its VXLAN negotiation between nodes
 * included), offering NOOP to endpoints, so that with NOOP clients and endpoints nothing is built.
 */
export async function noopDataplane(owner: string, tunnelIp = '127.0.0.1'): Promise<ForwarderDataplane> {
  const kernel = await createKernelDataplane({
    name: owner,
    tunnelIp,
    vxlanPort: 4789,
    adopt: false,
    auditEveryMs: 0,
  });
  return { mechanisms: kernel.mechanisms, localTypes: ['NOOP'], close: () => kernel.close() };
}

/** One emulated node. */
export interface MeshNode {
  readonly name: string;
  /** The manager's unix socket URL (what local clients and endpoints use). */
  readonly managerUrl: string;
  /** The manager's TCP URL (what other nodes use). */
  readonly managerTcpUrl: string;
  readonly forwarderUrl: string;
  readonly manager: Restartable & { instance(): RunningManager | undefined };
  readonly forwarder: Restartable & { instance(): RunningForwarder | undefined };
}

/** Options for `createMesh`. */
export interface MeshOptions {
  nodes?: number;
  log?: Logger;
  dataplane?: (node: { name: string; tunnelIp: string }) => ForwarderDataplane | Promise<ForwarderDataplane>;
  /** Tunnel IP per node index (default 127.0.0.1: negotiated, never used for packets by NOOP). */
  tunnelIp?: (index: number) => string;
  /** Registered NSE lifetime (default 60 s). */
  nseLifetimeMs?: number;
  tokenLifetimeMs?: number;
  /** mTLS, identities and policies as in the lab (default true). */
  secure?: boolean;
  /** With `secure`, enforce the policies (default true; false: mTLS and tokens only, as NSM_AUTHORIZE=false). */
  authorize?: boolean;
  /** The registry's stores in place of memory (made anew at each registry start), e.g. the CRD store. */
  registryStores?: () => Promise<{ nse: NseElement; ns: NsElement; close(): void }>;
  /** The forwarders' NSM_DISCOVER_WAIT (default 0 here: NOT_FOUND at once; the daemons wait 5 s). */
  discoverWaitMs?: number;
}

/** Usage: `const mesh = await createMesh({ nodes: 2 }); ... await mesh.close()`. */
export async function createMesh(options: MeshOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-mesh-'));
  const log = options.log ?? silentLogger;
  const registryUrl = `tcp://127.0.0.1:${await freePort()}`;
  const pki = options.secure === false ? undefined : await MeshPki.create();
  const identity = async (...segments: string[]): Promise<Identity | undefined> => pki?.identity(segments);
  const securityFor = async (name: string, segments: string[]) =>
    securityOf(await identity(...segments), {
      name,
      tokenLifetimeMs: options.tokenLifetimeMs ?? 10 * 60_000,
    });
  const identityOption = (id: Identity | undefined): { identity?: Identity } => (id ? { identity: id } : {});
  // Clients share one workload identity unless a test gives them their own (as pods of one service account).
  const workload = await identity('ns', 'default', 'sa', 'default');
  // What the harness itself dials with (registering services, inspecting hops), as `nsm` does in the lab.
  const operator = await securityFor('harness', ['operator', 'harness']);
  const registrySecurity = await securityFor('registry', ['registry']);
  const registry = restartable(async () => {
    const stores = await options.registryStores?.();
    const handlers = createRegistryServer({
      defaultLifetimeMs: options.nseLifetimeMs ?? 60_000,
      // The in-process mesh runs the registry as the registry daemon does: its own hop on the path, the policies.
      security: registrySecurity,
      ...(stores ? { stores } : {}),
    });
    const server = createServer({ log, ...identityOption(registrySecurity.identity) });
    server.serveEndpointRegistry(handlers.nse);
    server.serveServiceRegistry(handlers.ns);
    await server.listen([registryUrl]);
    return {
      close: async () => {
        await server.close();
        handlers.close();
        stores?.close();
      },
    };
  });
  await registry.start();
  const tokenLifetime = options.tokenLifetimeMs ?? 10 * 60_000;
  const nodes: MeshNode[] = [];
  const endpoints = new Set<Endpoint>();
  const clients = new Set<MeshClientHandle>();
  for (let i = 1; i <= (options.nodes ?? 1); i++) {
    const name = `node-${i}`;
    const managerUrl = `unix://${join(dir, `${name}-nsmgr.sock`)}`;
    const managerTcpUrl = `tcp://127.0.0.1:${await freePort()}`;
    const forwarderUrl = `unix://${join(dir, `${name}-forwarder.sock`)}`;
    const tunnelIp = options.tunnelIp?.(i) ?? '127.0.0.1';
    let manager: RunningManager | undefined;
    let forwarder: RunningForwarder | undefined;
    const managerSecurity = await securityFor(`nsmgr-${name}`, ['nsmgr', name]);
    const forwarderSecurity = await securityFor(`forwarder-${name}`, ['forwarder', name]);
    const insecure = {
      identityDir: '',
      workloadApi: '',
      issuer: { url: '', tokenFile: '', caFile: '' },
      insecure: true,
      authorize: false,
    };
    const managerR = restartable(async () => {
      manager = await startManager(
        {
          name: `nsmgr-${name}`,
          nodeName: name,
          listenOn: [managerUrl, managerTcpUrl],
          advertiseUrl: managerTcpUrl,
          registryUrl,
          maxTokenLifetimeMs: tokenLifetime,
          dialTimeoutMs: 1000,
          forwarderServiceName: 'forwarder',
          logLevel: 'silent',
          security: insecure,
        },
        { log: log.child({ component: `nsmgr-${name}` }), security: managerSecurity },
      );
      return manager;
    });
    const forwarderR = restartable(async () => {
      forwarder = await startForwarder(
        {
          name: `forwarder-${name}`,
          nodeName: name,
          clusterName: 'harness',
          listenOn: [forwarderUrl],
          connectTo: managerUrl,
          serviceName: 'forwarder',
          labels: { p2p: 'true' },
          sriov: { configFile: '', sysfsRoot: '/sys', vfioDir: '/dev/vfio' },
          tunnelIp,
          vxlanPort: 4789,
          maxTokenLifetimeMs: tokenLifetime,
          dialTimeoutMs: 1000,
          discoverWaitMs: options.discoverWaitMs ?? 0,
          logLevel: 'silent',
          security: insecure,
        },
        {
          log: log.child({ component: `forwarder-${name}` }),
          security: forwarderSecurity,
          dataplane: options.dataplane
            ? await options.dataplane({ name, tunnelIp })
            : await noopDataplane(`harness-${name}`, tunnelIp),
        },
      );
      return forwarder;
    });
    await managerR.start();
    await forwarderR.start();
    nodes.push({
      name,
      managerUrl,
      managerTcpUrl,
      forwarderUrl,
      manager: Object.assign(managerR, { instance: () => (managerR.running ? manager : undefined) }),
      forwarder: Object.assign(forwarderR, { instance: () => (forwarderR.running ? forwarder : undefined) }),
    });
  }

  const node = (index: number): MeshNode => {
    const n = nodes[index - 1];
    if (!n) throw new Error(`no node ${index}: the mesh has ${nodes.length}`);
    return n;
  };

  return {
    dir,
    registryUrl,
    registry,
    /** The mesh CA (undefined with `secure: false`): tests issue identities of their own from it. */
    pki,
    /** The identity the mesh's clients use unless given another. */
    workload,
    /**
     * A gRPC client for a hop of the mesh, as the operator (`spiffe://nsm.test/operator/harness`): mTLS and
     * per-call tokens when the mesh is secure. Usage: `const m = mesh.dial(mesh.node(1).managerUrl)`.
     */
    dial(url: string, opts: DialOptions = {}): MeshClient {
      return dial(url, { tokens: operator.tokens, ...identityOption(operator.identity), ...opts });
    },
    /** A gRPC client for a hop, speaking as `identity` (a test standing in for a client or a rogue). */
    dialAs(identity: Identity | undefined, url: string, opts: DialOptions = {}): MeshClient {
      const as = securityOf(identity, {
        name: 'as',
        tokenLifetimeMs: options.tokenLifetimeMs ?? 10 * 60_000,
      });
      return dial(url, { tokens: as.tokens, ...identityOption(identity), ...opts });
    },
    nodes,
    node,
    /** Starts an endpoint on node `index` (listening on a socket in the mesh directory). */
    async endpoint(index: number, opts: Omit<EndpointOptions, 'managerUrl'>): Promise<Endpoint> {
      const name = opts.name ?? `nse-${endpoints.size + 1}`;
      const nse = await createEndpoint({
        mechanisms: { NOOP: element({}) },
        listenOn: `unix://${join(dir, `${name}.sock`)}`,
        log: log.child({ component: name }),
        ...identityOption(await identity('ns', 'default', 'pod', name)),
        authorize: pki !== undefined && options.authorize !== false,
        ...opts,
        name,
        managerUrl: node(index).managerUrl,
      });
      endpoints.add(nse);
      const close = nse.close.bind(nse);
      return Object.assign(nse, {
        close: async (closeOptions?: { unregister?: boolean }) => {
          endpoints.delete(nse);
          await close(closeOptions);
        },
      });
    },
    /** A client on node `index`. */
    client(index: number, opts: Omit<ClientOptions, 'managerUrl'> = {}): MeshClientHandle {
      const client = createClient({
        log: log.child({ component: opts.name ?? 'nsc' }),
        info: { nodeName: node(index).name, podName: opts.name ?? 'nsc', clusterName: 'lab' },
        ...identityOption(workload),
        ...opts,
        managerUrl: node(index).managerUrl,
      });
      clients.add(client);
      return client;
    },
    /** Stops everything, clients first, and removes the socket directory. */
    async close() {
      await Promise.allSettled([...clients].map((c) => c.shutdown()));
      await Promise.allSettled([...endpoints].map((e) => e.close()));
      for (const n of [...nodes].reverse()) {
        await n.forwarder.stop().catch(() => undefined);
        await n.manager.stop().catch(() => undefined);
      }
      await registry.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Mesh = Awaited<ReturnType<typeof createMesh>>;
