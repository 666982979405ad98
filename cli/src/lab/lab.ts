/**
 * A lab: one emulated cluster on this machine. Everything it creates carries its name: namespaces
 * `nsm-<lab>-<thing>`, processes with NSM_LAB=<lab> in their environment (and NSM_LAB_COMPONENT=
 * <component>), files under `/run/nsm-lab/<lab>/`. That is how `nsm down` finds all of it again,
 * also after a crash.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkService } from '@nsm-ts/sdk/api';
import type { ComponentSpec } from './supervisor/spec.js';

/** Where labs keep their state (a tmpfs: gone after a reboot, like the namespaces). */
export const LAB_ROOT = process.env['NSM_LAB_ROOT'] ?? '/run/nsm-lab';

/** The fabric: a bridge in its own namespace; node i gets FABRIC_PREFIX.(10+i). */
export { FABRIC_PREFIX } from '../manifests/placement.js';
export const REGISTRY_PORT = 5002;
export const MANAGER_PORT = 5001;
/**
 * The metrics ports (NSM_METRICS_ADDR on 127.0.0.1 of each daemon's namespace; the lab owns those
 * namespaces, so nothing else holds them): the registry's in the fabric namespace, a node's manager
 * and forwarder in the node's, a client pod's (its heal metrics) in the pod's.
 */
export const METRICS_PORTS = { registry: 9090, manager: 9090, forwarder: 9091, client: 9090 } as const;

/** What `nsm up` created, as `nsm status` and `nsm down` read it. */
export interface LabState {
  lab: string;
  createdAt: string;
  manifests: string[];
  nodes: { name: string; netns: string; tunnelIp: string; managerUrl: string }[];
  pods: {
    name: string;
    node: string;
    netns: string;
    /** `host`: a fabric host outside the mesh; `external`: the gateway of an external VNF. */
    role: 'client' | 'endpoint' | 'passthrough' | 'host' | 'external';
    /** A fabric host's address on the fabric, and its cable's MTU when one was given. */
    address?: string;
    mtu?: number;
    /** An external endpoint's check targets (annotation nsm-ts.io/check-targets): pinged or fetched by nsm check. */
    checks?: string[];
    /** What a client pod asked for (interface name, service, labels). */
    requests: { service: string; ifname: string; labels: Record<string, string> }[];
    /** The name an endpoint (or passthrough) pod registers. */
    endpoint?: string;
  }[];
  /** What the supervisor runs: the daemons and the pods (their state is the supervisor's). */
  components: ComponentSpec[];
  registryUrl: string;
  /** The NetworkServices of the manifests: registered again whenever the registry (in memory) restarts. */
  services: NetworkService[];
  /** mTLS and the policies on (the default), or the lab runs insecure (`nsm up --insecure`). */
  secure: boolean;
  /** Lifetime of the certificates the supervisor issues (renewed at two thirds of it). */
  certLifetimeMs: number;
}

/** Checks a lab name: it becomes part of namespace names. */
export function checkLabName(name: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/.test(name)) {
    throw new Error(`bad lab name "${name}": expected 1..16 lower-case letters, digits or "-"`);
  }
  return name;
}

/** Paths and names of one lab. */
export class Lab {
  readonly dir: string;

  constructor(readonly name: string) {
    checkLabName(name);
    this.dir = join(LAB_ROOT, name);
  }

  /** The namespace name of a node, pod or the fabric. */
  netns(thing: string): string {
    return `nsm-${this.name}-${thing}`;
  }

  /** The `--lab` option that names this lab in a hint ('' for the default lab). */
  get flag(): string {
    return this.name === 'default' ? '' : ` --lab ${this.name}`;
  }

  /** Prefix of every namespace of this lab. */
  get netnsPrefix(): string {
    return `nsm-${this.name}-`;
  }

  get socketDir(): string {
    return join(this.dir, 'sockets');
  }

  get logDir(): string {
    return join(this.dir, 'logs');
  }

  /** Per-pod status files written by the pod roles. */
  get podDir(): string {
    return join(this.dir, 'pods');
  }

  /** The trace files: each daemon and pod appends its finished spans to its own (what `nsm trace` reads). */
  get traceDir(): string {
    return join(this.dir, 'traces');
  }

  /** The trace file of a component (`nsmgr-node-1`, `pod-hss` ...). */
  traceFile(name: string): string {
    return join(this.traceDir, `${name}.jsonl`);
  }

  /** The lab's mesh CA (certificate and key). */
  get pkiDir(): string {
    return join(this.dir, 'pki');
  }

  /** A component's identity files (svid.pem, svid_key.pem, svid_bundle.pem). */
  identityDir(component: string): string {
    return join(this.dir, 'identities', component.replace(/\//g, '-'));
  }

  socket(name: string): string {
    return `unix://${join(this.socketDir, `${name}.sock`)}`;
  }

  log(name: string): string {
    return join(this.logDir, `${name}.log`);
  }

  makeDirs(): void {
    for (const dir of [this.dir, this.socketDir, this.logDir, this.podDir, this.traceDir])
      mkdirSync(dir, { recursive: true });
  }

  readState(): LabState | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'state.json'), 'utf8')) as LabState;
    } catch {
      return undefined;
    }
  }

  /** Writes atomically, so a crash never leaves half a state file. */
  writeState(state: LabState): void {
    const file = join(this.dir, 'state.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
    renameSync(`${file}.tmp`, file);
  }
}
