/**
 * A pod's own report of its requests, written for `nsm up` progress and `nsm status`. It also carries
 * each connection as held, so that the next client process of the pod (the sidecar after the init
 * container) takes the connections over instead of making new ones.
 */
import type { ContainerStatus } from './containers.js';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Connection } from '@nsm-ts/sdk/api';
import type { MemifReport } from './memif-side.js';

/** The state of one requested connection. */
export interface RequestStatus {
  service: string;
  ifname: string;
  labels: Record<string, string>;
  /** `pending`: never up yet; `up`: held now; `healing`: lost, being repaired. */
  state: 'pending' | 'up' | 'healing';
  connectionId?: string;
  endpoint?: string;
  srcIps?: string[];
  dstIps?: string[];
  error?: string;
  attempts: number;
  /** While healing: attempts that failed so far (the link is DOWN, `error` says why). */
  healFailures?: number;
  /** The connection as last held (path, mechanism, context), for a process that takes it over. */
  connection?: Connection;
  /** A MEMIF connection's memif in this pod: its socket, addresses and traffic counters. */
  memif?: MemifReport;
}

/** One memif an endpoint pod serves, for a connection it answered. */
export interface ServedMemif extends MemifReport {
  connectionId: string;
}

/** The pod's status file. */
export interface PodStatus {
  pod: string;
  pid: number;
  role: 'client' | 'endpoint' | 'passthrough' | 'host';
  requests: RequestStatus[];
  endpoint?: { name: string; url: string };
  /** The memifs an endpoint serves, one per connection. */
  memifs?: ServedMemif[];
  /** The pod's own containers run beside the role. */
  containers?: ContainerStatus[];
  updatedAt: string;
}

/** Writes `status` to `file` atomically (no-op without a file). */
export function writePodStatus(file: string | undefined, status: PodStatus): void {
  if (!file) return;
  writeFileSync(`${file}.tmp`, JSON.stringify({ ...status, updatedAt: new Date().toISOString() }, null, 2));
  renameSync(`${file}.tmp`, file);
}

/** The status a previous process of the pod left in `file`, or undefined (none, or unreadable). */
export function readPodStatusFile(file: string | undefined): PodStatus | undefined {
  if (!file) return undefined;
  try {
    const status = JSON.parse(readFileSync(file, 'utf8')) as PodStatus;
    return Array.isArray(status.requests) ? status : undefined;
  } catch {
    return undefined;
  }
}
