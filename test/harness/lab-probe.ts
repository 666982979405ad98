/**
 * Looking into a running lab from outside, as other tools would: `nsm status --json`, and the
 * interfaces of a namespace through `nsenter --net=<path> ip -j ...`. Also temporary manifest
 * directories for suites that need their own YAML.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabStatus, LinkStatus } from '@nsm-ts/cli/lab';
import { nsm } from './nsm-cli.js';

/** `nsm status --json`: the shape the command prints (the lab's own types). */
export type StatusJson = LabStatus;
export type StatusLink = LinkStatus;

/** `nsm status --json`, parsed. Usage: `const status = await statusJson(lab)`. */
export async function statusJson(lab: string): Promise<StatusJson> {
  const run = await nsm(lab, 'status', '--json');
  try {
    return JSON.parse(run.stdout) as StatusJson;
  } catch {
    throw new Error(`nsm status --json printed no JSON (exit ${run.code}): ${run.stderr}`);
  }
}

/** One interface as `ip -j addr` prints it. */
export interface IpLink {
  ifname: string;
  address?: string;
  mtu?: number;
  link_type?: string;
  master?: string;
  linkinfo?: { info_kind?: string };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

/** `ip -j -d <what>` run inside the namespace at `netnsPath` with nsenter. Usage: `ipJson('/run/netns/x', 'addr')`. */
export function ipJson(netnsPath: string, what: 'addr' | 'link'): IpLink[] {
  const out = execFileSync('nsenter', [`--net=${netnsPath}`, 'ip', '-j', '-d', what], { encoding: 'utf8' });
  return JSON.parse(out.trim() || '[]') as IpLink[];
}

/** Names of the interfaces in a namespace other than `lo`. Usage: `interfaces('/run/netns/x')`. */
export function interfaces(netnsPath: string): string[] {
  return ipJson(netnsPath, 'link')
    .map((l) => l.ifname)
    .filter((n) => n !== 'lo')
    .sort();
}

/** Bytes received and sent by interface `ifname` in the namespace at `netnsPath` (`ip -s` counters). */
export function counters(netnsPath: string, ifname: string): { rx: number; tx: number } {
  const out = execFileSync(
    'nsenter',
    [`--net=${netnsPath}`, 'ip', '-j', '-s', 'link', 'show', 'dev', ifname],
    { encoding: 'utf8' },
  );
  const link = (JSON.parse(out) as { stats64?: { rx: { bytes: number }; tx: { bytes: number } } }[])[0];
  if (!link?.stats64) throw new Error(`no counters for ${ifname} in ${netnsPath}`);
  return { rx: link.stats64.rx.bytes, tx: link.stats64.tx.bytes };
}

/** The address part of a CIDR such as `10.70.0.2/32`. */
export const hostOf = (cidr: string | undefined): string => (cidr ?? '').split('/')[0] ?? '';

/** A temporary directory holding `files` (name → YAML text); `remove()` deletes it. */
export function manifestDir(files: Record<string, string>): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-e2e-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
