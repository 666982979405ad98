/**
 * Tunnels to external VNFs (a VXLAN mechanism answered with `nsm_external_vnf`, from the gateway of
 * an external endpoint): the VNF is no forwarder that would fail the request when its side cannot be
 * built, so this forwarder checks the VNF itself, from inside the client's pod over the new device,
 * before the connection is reported up (external-watch.ts keeps checking while it is up).
 *
 * The check: ARP for the VNF's address (answered by any IPv4 stack, whatever its firewall says); then
 * one small and one full-size ICMP echo with don't-fragment, so an underlay that carries less than
 * the tunnel's MTU is reported instead of black-holing big packets. When ARP gets no answer, a ping
 * of the VTEP from the node tells an unreachable VTEP from a wrong VTEP, VNI or port. A tap client's
 * pod holds no address (the VM does): it is checked with an ARP probe from its bridge (sender
 * 0.0.0.0, which updates no neighbour table), without echoes.
 */
import type { Connection, Mechanism } from '@nsm-ts/sdk/api';
import { EXTERNAL_VNF_PARAMETER } from '@nsm-ts/sdk';
import { Code, NsmError, type Context } from '@nsm-ts/sdk/core';
import { vxlanParameters } from '@nsm-ts/sdk/elements';
import { arpInNamespace } from '../liveness/arp.js';
import { pingInNamespace } from '../liveness/ping.js';
import type { KernelDeps } from './deps.js';
import type { Wire } from './wire.js';

/** How long one ARP reply is waited for; a check before answering asks ARP_TRIES times. */
export const ARP_TIMEOUT_MS = 250;
const ARP_TRIES = 3;
const ECHO_TIMEOUT_MS = 300;
const IPV4_ECHO_OVERHEAD = 28; // IPv4 20 + ICMP 8
/** The smallest MTU an IPv4 link may have (RFC 791). */
const MIN_MTU = 576;
/**
 * Probes at once: each waits on a libuv pool thread (4 unless UV_THREADPOOL_SIZE says more; the
 * lab and the image give the forwarder 16), which netlink batches share. With many connections to
 * a VNF that is down, the rest of the forwarder must not wait behind them.
 */
const MAX_PROBES = 2;

let running = 0;
const queued: (() => void)[] = [];

/** Runs `probe` when fewer than MAX_PROBES run. */
async function limited<T>(probe: () => Promise<T>): Promise<T> {
  if (running >= MAX_PROBES) await new Promise<void>((resolve) => queued.push(resolve));
  running++;
  try {
    return await probe();
  } finally {
    running--;
    queued.shift()?.();
  }
}

/** What the check needs of a wire toward an external VNF. */
export interface ExternalTarget {
  name: string;
  vtep: string;
  vni: number;
  port: number;
  nsPath: string;
  /** The interface probed from, and the sender address of its ARP requests. */
  ifname: string;
  source: string;
  /** Whether the pod has an address to send echoes from (not so for a tap: the VM has it). */
  echoes: boolean;
  vnf: string;
  mtu: number | undefined;
}

/** The external VNF's name when `nextHop` is a tunnel to one, else undefined. */
export function externalVnfOf(nextHop: Mechanism | null): string | undefined {
  return nextHop?.type === 'VXLAN' ? nextHop.parameters[EXTERNAL_VNF_PARAMETER] || undefined : undefined;
}

/** The target of the checks of `wire`; `tapBridge` is a tap client's bridge in its pod. */
export function externalTarget(
  nextHop: Mechanism,
  conn: Connection,
  wire: Wire,
  tapBridge?: string,
): ExternalTarget {
  const p = vxlanParameters(nextHop);
  const end = wire.ends[0];
  const ip = conn.context?.ip_context;
  const addr = (cidr: string | undefined): string => (cidr ?? '').split('/')[0] ?? '';
  const target: ExternalTarget = {
    name: externalVnfOf(nextHop) ?? '',
    vtep: p.dstIp ?? '',
    vni: p.vni ?? 0,
    port: p.dstPort ?? 0,
    nsPath: end?.target.nsPath ?? '',
    ifname: tapBridge ?? end?.target.name ?? '',
    source: tapBridge ? '0.0.0.0' : addr(ip?.src_ip_addrs[0]),
    echoes: tapBridge === undefined,
    vnf: addr(ip?.dst_ip_addrs[0]),
    mtu: wire.plan.mtu,
  };
  if (!target.vnf || !addr(ip?.src_ip_addrs[0]) || !end)
    throw new NsmError(
      Code.INVALID_ARGUMENT,
      `external endpoint ${target.name} answered without the VNF's and the client's addresses: expected its gateway to fill the IP context`,
    );
  if (tapBridge && target.vnf.includes(':'))
    throw new NsmError(
      Code.UNIMPLEMENTED,
      `external endpoint ${target.name} has an IPv6 address; a tap client's link to it cannot be checked (its pod has no address): expected IPv4`,
    );
  return target;
}

function describeTarget(t: ExternalTarget): string {
  return `external VNF ${t.name} (${t.vnf}) over VXLAN VNI ${t.vni} to VTEP ${t.vtep}:${t.port}`;
}

async function echoes(nsPath: string | null, addr: string, size?: number): Promise<boolean> {
  try {
    await limited(() => pingInNamespace(nsPath, addr, ECHO_TIMEOUT_MS, size === undefined ? {} : { size }));
    return true;
  } catch (err) {
    if (err instanceof NsmError) return false;
    throw err;
  }
}

/**
 * Whether the VNF answers at L2/L3 within `tries` requests: ARP for IPv4, an echo for IPv6 (its
 * neighbour discovery comes first). Only a timeout counts as no answer: a probe that cannot be sent
 * (the interface or namespace gone) throws.
 */
export async function answers(t: ExternalTarget, timeoutMs: number, tries: number): Promise<boolean> {
  if (t.vnf.includes(':')) {
    for (let i = 0; i < tries; i++) if (await echoes(t.nsPath, t.vnf)) return true;
    return false;
  }
  for (let i = 0; i < tries; i++) {
    try {
      await limited(() => arpInNamespace(t.nsPath, t.ifname, t.vnf, { sourceIp: t.source, timeoutMs }));
      return true;
    } catch (err) {
      if (!(err instanceof NsmError) || err.code !== Code.DEADLINE_EXCEEDED) throw err;
    }
  }
  return false;
}

/**
 * Why nothing answered `tried` (e.g. "3 ARP requests of 250 ms"): the VTEP unreachable from the
 * node, or the VTEP there but no VNF on that VNI.
 */
export async function noAnswer(deps: KernelDeps, t: ExternalTarget, tried: string): Promise<NsmError> {
  const what = t.vnf.includes(':') ? 'echo' : 'ARP';
  if (!(await echoes(deps.nodeNs, t.vtep)))
    return new NsmError(
      Code.UNAVAILABLE,
      `${describeTarget(t)}: no reply to ${tried}, and the VTEP ${t.vtep} does not answer ping from this node: it is unreachable (down, or no route from the node's tunnel IP ${deps.tunnelIp})`,
    );
  return new NsmError(
    Code.UNAVAILABLE,
    `${describeTarget(t)}: the VTEP ${t.vtep} answers ping, but nothing answers ${what} for ${t.vnf} on VNI ${t.vni}: wrong VTEP, VNI or UDP port in the endpoint's URL, or the VNF's VXLAN interface is down or without ${t.vnf}`,
  );
}

/** The largest echo payload that passes, between `low` (passes) and `high` (lost). */
async function largestEcho(t: ExternalTarget, low: number, high: number): Promise<number> {
  for (let steps = 0; high - low > 8 && steps < 12; steps++) {
    const mid = Math.floor((low + high) / 2);
    if (await echoes(t.nsPath, t.vnf, mid)) low = mid;
    else high = mid;
  }
  return low;
}

function mtuMismatch(t: ExternalTarget, passes: number): NsmError {
  const advice =
    passes >= MIN_MTU
      ? `Declare mtu=${passes} in the endpoint's URL, or raise the MTU on the way`
      : `that is below the ${MIN_MTU} bytes any IPv4 link must carry: fix the path to the VTEP`;
  return new NsmError(
    Code.FAILED_PRECONDITION,
    `${describeTarget(t)}: MTU mismatch: a ${t.mtu ?? 0}-byte packet (the tunnel's MTU) is lost while small ones pass; the largest that passes is about ${passes} bytes: the path to the VTEP or the VNF's interface carries less. ${advice}`,
  );
}

/**
 * Checks that the VNF answers over `wire` and carries full-size packets; throws UNAVAILABLE or
 * FAILED_PRECONDITION saying what is wrong. A VNF that answers ARP but drops ICMP passes unmeasured.
 */
export async function checkExternal(deps: KernelDeps, ctx: Context, t: ExternalTarget): Promise<void> {
  const arpMs = ARP_TIMEOUT_MS;
  if (!(await answers(t, arpMs, ARP_TRIES)))
    throw await noAnswer(
      deps,
      t,
      `${ARP_TRIES} ${t.vnf.includes(':') ? 'echo' : 'ARP'} requests of ${arpMs} ms`,
    );
  if (!t.mtu || !t.echoes || t.vnf.includes(':')) return;
  if (!(await echoes(t.nsPath, t.vnf))) {
    ctx.log.info({ vnf: t.vnf }, 'external VNF answers ARP but not ping: its MTU is not checked');
    return;
  }
  const full = t.mtu - IPV4_ECHO_OVERHEAD;
  if (await echoes(t.nsPath, t.vnf, full)) return;
  throw mtuMismatch(t, (await largestEcho(t, 16, full)) + IPV4_ECHO_OVERHEAD);
}
