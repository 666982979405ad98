/** A pod's own report of its requests, written for `nsm up` progress and `nsm status`. */
import { renameSync, writeFileSync } from 'node:fs';

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
}

/** The pod's status file. */
export interface PodStatus {
  pod: string;
  pid: number;
  role: 'client' | 'endpoint' | 'passthrough';
  requests: RequestStatus[];
  endpoint?: { name: string; url: string };
  updatedAt: string;
}

/** Writes `status` to `file` atomically (no-op without a file). */
export function writePodStatus(file: string | undefined, status: PodStatus): void {
  if (!file) return;
  writeFileSync(`${file}.tmp`, JSON.stringify({ ...status, updatedAt: new Date().toISOString() }, null, 2));
  renameSync(`${file}.tmp`, file);
}
