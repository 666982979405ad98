/**
 * Tunnels to external VNFs (a VXLAN mechanism answered with `nsm_external_vnf`, from the gateway of
 * an external endpoint): the VNF is no forwarder that would fail the request when its side cannot be
 * built, so this forwarder checks the VNF itself, from inside the client's pod over the new device,
 * before the connection is reported up — and keeps checking while it is up.
 *
 * The check: ARP for the VNF's address (answered by any IPv4 stack, whatever its firewall says); then
 * one small and one full-size ICMP echo with don't-fragment, so an underlay that carries less than
 * the tunnel's MTU is reported instead of black-holing big packets. When ARP gets no answer, a ping
 * of the VTEP from the node tells an unreachable VTEP from a wrong VTEP, VNI or port.
 */
import type { Connection, Mechanism } from '@nsm-ts/sdk/api';
import { EXTERNAL_VNF_PARAMETER } from '@nsm-ts/sdk';
import { Code, NsmError, metadataSlot, type Context } from '@nsm-ts/sdk/core';
import { monitorEventsOf, vxlanParameters } from '@nsm-ts/sdk/elements';
import { arpInNamespace } from '../liveness/arp.js';
import { pingInNamespace } from '../liveness/ping.js';
import type { KernelDeps } from './deps.js';
import type { Wire } from './wire.js';

/** How the checks are timed; the defaults suit a VNF on the same fabric. */
export interface ExternalCheckOptions {
  /** Wait for one ARP reply (default 250 ms); a check asks three times. */
  readonly arpTimeoutMs?: number;
  /** Period of the health check of a connection that is up (default 1 s). */
  readonly everyMs?: number;
  /** Consecutive failed health checks that report the connection DOWN (default 3). */
  readonly misses?: number;
}

const ARP_TRIES = 3;
const ECHO_TIMEOUT_MS = 300;
const IPV4_ECHO_OVERHEAD = 28; // IPv4 20 + ICMP 8

/** What the check needs of a wire toward an external VNF. */
interface Target {
  name: string;
  vtep: string;
  vni: number;
  port: number;
  nsPath: string;
  ifname: string;
  source: string;
  vnf: string;
  mtu: number | undefined;
}

/** The external VNF's name when `nextHop` is a tunnel to one, else undefined. */
export function externalVnfOf(nextHop: Mechanism | null): string | undefined {
  return nextHop?.type === 'VXLAN' ? nextHop.parameters[EXTERNAL_VNF_PARAMETER] || undefined : undefined;
}

function targetOf(nextHop: Mechanism, conn: Connection, wire: Wire): Target {
  const p = vxlanParameters(nextHop);
  const end = wire.ends[0];
  const ip = conn.context?.ip_context;
  const addr = (cidr: string | undefined): string => (cidr ?? '').split('/')[0] ?? '';
  const target: Target = {
    name: externalVnfOf(nextHop) ?? '',
    vtep: p.dstIp ?? '',
    vni: p.vni ?? 0,
    port: p.dstPort ?? 0,
    nsPath: end?.target.nsPath ?? '',
    ifname: end?.target.name ?? '',
    source: addr(ip?.src_ip_addrs[0]),
    vnf: addr(ip?.dst_ip_addrs[0]),
    mtu: wire.plan.mtu,
  };
  if (!target.vnf || !target.source || !end)
    throw new NsmError(
      Code.INVALID_ARGUMENT,
      `external endpoint ${target.name} answered without the VNF's and the client's addresses: expected its gateway to fill the IP context`,
    );
  return target;
}

function where(t: Target): string {
  return `external VNF ${t.name} (${t.vnf}) over VXLAN VNI ${t.vni} to VTEP ${t.vtep}:${t.port}`;
}

/** Whether the VNF answers at L2/L3: ARP for IPv4; an echo for IPv6 (its neighbour discovery comes first). */
async function answersArp(t: Target, timeoutMs: number, tries: number): Promise<boolean> {
  if (t.vnf.includes(':')) {
    for (let i = 0; i < tries; i++) if (await echoes(t.nsPath, t.vnf)) return true;
    return false;
  }
  for (let i = 0; i < tries; i++) {
    try {
      await arpInNamespace(t.nsPath, t.ifname, t.vnf, { sourceIp: t.source, timeoutMs });
      return true;
    } catch (err) {
      if (err instanceof NsmError && err.code !== Code.DEADLINE_EXCEEDED) throw err;
    }
  }
  return false;
}

async function echoes(nsPath: string | null, addr: string, size?: number): Promise<boolean> {
  try {
    await pingInNamespace(nsPath, addr, ECHO_TIMEOUT_MS, size === undefined ? {} : { size });
    return true;
  } catch {
    return false;
  }
}

/** Why nothing answers ARP: the VTEP unreachable from the node, or the VTEP there but no VNF on it. */
async function noAnswer(deps: KernelDeps, t: Target, timeoutMs: number): Promise<NsmError> {
  const what = t.vnf.includes(':') ? 'echo' : 'ARP';
  if (!(await echoes(deps.nodeNs, t.vtep)))
    return new NsmError(
      Code.UNAVAILABLE,
      `${where(t)}: no ${what} reply within ${ARP_TRIES}×${timeoutMs} ms, and the VTEP ${t.vtep} does not answer ping from this node: it is unreachable (down, or no route from the node's tunnel IP ${deps.tunnelIp})`,
    );
  return new NsmError(
    Code.UNAVAILABLE,
    `${where(t)}: the VTEP ${t.vtep} answers ping, but nothing answers ${what} for ${t.vnf} on VNI ${t.vni}: wrong VTEP, VNI or UDP port in the endpoint's URL, or the VNF's VXLAN interface is down or without ${t.vnf}`,
  );
}

/** The largest echo payload that passes, between `low` (passes) and `high` (lost). */
async function largestEcho(t: Target, low: number, high: number): Promise<number> {
  for (let steps = 0; high - low > 8 && steps < 12; steps++) {
    const mid = Math.floor((low + high) / 2);
    if (await echoes(t.nsPath, t.vnf, mid)) low = mid;
    else high = mid;
  }
  return low;
}

/**
 * Checks that the VNF answers over `wire` and carries full-size packets; throws UNAVAILABLE or
 * FAILED_PRECONDITION saying what is wrong. A VNF that answers ARP but drops ICMP passes unmeasured.
 */
export async function checkExternal(
  deps: KernelDeps,
  ctx: Context,
  nextHop: Mechanism,
  conn: Connection,
  wire: Wire,
  options: ExternalCheckOptions = {},
): Promise<void> {
  const t = targetOf(nextHop, conn, wire);
  const arpMs = options.arpTimeoutMs ?? 250;
  if (!(await answersArp(t, arpMs, ARP_TRIES))) throw await noAnswer(deps, t, arpMs);
  if (!t.mtu || t.vnf.includes(':')) return;
  if (!(await echoes(t.nsPath, t.vnf))) {
    ctx.log.info(
      { connId: conn.id, vnf: t.vnf },
      'external VNF answers ARP but not ping: its MTU is not checked',
    );
    return;
  }
  const full = t.mtu - IPV4_ECHO_OVERHEAD;
  if (await echoes(t.nsPath, t.vnf, full)) return;
  const passes = (await largestEcho(t, 16, full)) + IPV4_ECHO_OVERHEAD;
  throw new NsmError(
    Code.FAILED_PRECONDITION,
    `${where(t)}: MTU mismatch: a ${t.mtu}-byte packet (the tunnel's MTU) is lost while small ones pass; the largest that passes is about ${passes} bytes: the path to the VTEP or the VNF's interface carries less. Declare mtu=${passes} in the endpoint's URL, or raise the MTU on the way`,
  );
}

/** The health watch of a connection (server metadata: it ends with the connection). */
const kWatch = metadataSlot<{ wire: Wire; stop: () => void }>('external.watch', 'server');

/** Whether `wire` is watched already (its VNF answered when it was built): a refresh need not check again. */
export function isWatched(ctx: Context, wire: Wire): boolean {
  return kWatch.get(ctx)?.wire === wire;
}

/** Stops watching the connection of `ctx`. */
export function stopExternalWatch(ctx: Context): void {
  kWatch.get(ctx)?.stop();
  kWatch.delete(ctx);
}

/**
 * Keeps checking the VNF behind `wire` (ARP every period); after the configured misses it reports
 * the connection DOWN to this forwarder's monitor — the previous hops pass that on and the client
 * heals — with the reason in this hop's path segment metrics and the log.
 */
export function watchExternal(
  deps: KernelDeps,
  ctx: Context,
  nextHop: Mechanism,
  answer: Connection,
  wire: Wire,
  options: ExternalCheckOptions = {},
): void {
  if (kWatch.get(ctx)?.wire === wire) return;
  stopExternalWatch(ctx);
  const t = targetOf(nextHop, answer, wire);
  const events = monitorEventsOf(ctx);
  const everyMs = options.everyMs ?? 1000;
  const limit = options.misses ?? 3;
  const arpMs = options.arpTimeoutMs ?? 250;
  let stopped = false;
  let cancel = (): void => {};
  let missed = 0;
  const tick = async (): Promise<void> => {
    const alive = await answersArp(t, arpMs, 1).catch(() => false);
    if (stopped) return;
    missed = alive ? 0 : missed + 1;
    if (missed < limit) return schedule();
    stopped = true;
    const reason = (await noAnswer(deps, t, arpMs)).message;
    deps.log.warn(
      { connId: answer.id, reason },
      'external VNF stopped answering: reporting the connection DOWN',
    );
    const index = answer.path?.index ?? 0;
    const path = answer.path
      ? {
          ...answer.path,
          path_segments: answer.path.path_segments.map((s, i) =>
            i === index ? { ...s, metrics: { ...s.metrics, down_reason: reason } } : s,
          ),
        }
      : null;
    events?.update({ ...answer, state: 'DOWN', path });
  };
  const schedule = (): void => {
    cancel = deps.clock.after(everyMs, () => void tick());
  };
  schedule();
  kWatch.set(ctx, {
    wire,
    stop: () => {
      stopped = true;
      cancel();
    },
  });
}
