/**
 * The mesh's stand-in for an external VXLAN endpoint: the endpoint element a small gateway process
 * serves under the external endpoint's name (as upstream serves remote VLANs with an NSE process of
 * their own). It carries no traffic. For each connection it takes a free slot of the declaration —
 * VNI first+i and client address i, so no two clients anywhere in the mesh share either — and answers
 * the client's forwarder with the VXLAN mechanism aimed at the VNF's VTEP and the IP context of
 * that slot. The forwarder on the client's node builds the tunnel straight to the VTEP and checks
 * that the VNF answers. A client keeps its slot across refreshes and heals (by its own connection
 * id); a close or a missed refresh frees it.
 */
import type { Connection, Mechanism } from '../../api/types.js';
import { clone, ensureIpContext } from '../../api/builders.js';
import type { NetworkServiceElement } from '../../core/chain.js';
import { Code, NsmError, invalidArgument } from '../../core/errors.js';
import { setVxlanParameters, vxlanParameters } from '../../networkservice/common/mechanisms/vxlan.js';
import { clientAddress, type ExternalVxlan } from './vxlan-url.js';

/**
 * The VXLAN parameter that tells the client's forwarder its tunnel ends at an external VNF (the value
 * is the endpoint's name): it then checks the VNF answers before the connection is reported up, and
 * keeps checking. Our own key; other forwarders ignore it.
 */
export const EXTERNAL_VNF_PARAMETER = 'nsm_external_vnf';

/**
 * The VXLAN parameter with VNIs the client's forwarder found taken on its node (comma separated):
 * the gateway gives such a connection another slot.
 */
export const AVOID_VNIS_PARAMETER = 'nsm_vni_avoid';

/** Who holds a slot: the originating client's connection id, stable across refreshes and heals. */
function holderOf(conn: Connection): string {
  return conn.path?.path_segments[0]?.id || conn.id;
}

function clientNameOf(conn: Connection): string {
  return conn.path?.path_segments[0]?.name || holderOf(conn);
}

/**
 * Slots by holder (the originating client), each held by one connection of this gateway, and the
 * slot each holder had last (given back when still free; the most recent holders only).
 */
export class SlotTable {
  private readonly held = new Map<string, { slot: number; client: string; connId: string }>();
  private readonly last = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  /**
   * The holder's slot for connection `connId`: the one it holds, else `preferred` or its last one
   * if free, else the lowest free slot not avoided. `fresh` says whether it was taken just now.
   */
  take(
    holder: string,
    client: string,
    connId: string,
    avoid: (slot: number) => boolean,
    preferred?: number,
  ): { slot: number; fresh: boolean } | undefined {
    const current = this.held.get(holder);
    if (current && !avoid(current.slot)) {
      current.connId = connId; // a reselect keeps the holder but may come as another connection
      return { slot: current.slot, fresh: false };
    }
    if (current) this.held.delete(holder);
    const taken = new Set([...this.held.values()].map((h) => h.slot));
    const free = (slot: number): boolean => !taken.has(slot) && !avoid(slot);
    const wanted = [preferred, this.last.get(holder)].find(
      (s) => s !== undefined && s >= 0 && s < this.capacity && free(s),
    );
    let slot = wanted;
    for (let i = 0; slot === undefined && i < this.capacity; i++) if (free(i)) slot = i;
    if (slot === undefined) return undefined;
    this.held.set(holder, { slot, client, connId });
    this.last.delete(holder);
    this.last.set(holder, slot);
    // Remember the most recent holders only: a long-lived gateway sees many clients come and go.
    for (const old of this.last.keys()) {
      if (this.last.size <= 4 * this.capacity + 64) break;
      this.last.delete(old);
    }
    return { slot, fresh: true };
  }

  /** Frees the holder's slot if connection `connId` holds it (an old path closing frees nothing). */
  release(holder: string, connId: string): void {
    if (this.held.get(holder)?.connId === connId) this.held.delete(holder);
  }

  /** The clients holding slots, for messages. */
  holders(): string[] {
    return [...this.held.values()].map((h) => h.client);
  }
}

function avoided(mechs: readonly Mechanism[], ext: ExternalVxlan): Set<number> {
  const text = mechs.map((m) => m.parameters[AVOID_VNIS_PARAMETER] ?? '').join(',');
  const out = new Set<number>();
  for (const part of text.split(',').filter((p) => p !== '')) {
    const vni = /^\d{1,8}$/.test(part) ? Number(part) : NaN;
    if (!Number.isInteger(vni))
      throw invalidArgument(`${AVOID_VNIS_PARAMETER} "${text}": expected VNIs separated by commas`);
    if (vni >= ext.vnis.first && vni <= ext.vnis.last) out.add(vni - ext.vnis.first);
  }
  return out;
}

function exhausted(name: string, ext: ExternalVxlan, slots: SlotTable, avoid: Set<number>): NsmError {
  const range =
    ext.vnis.first === ext.vnis.last ? `VNI ${ext.vnis.first}` : `VNIs ${ext.vnis.first}-${ext.vnis.last}`;
  const holders = slots.holders();
  const by = holders.length > 0 ? ` held by ${holders.join(', ')}` : '';
  const taken =
    avoid.size > 0
      ? `; VNI ${[...avoid].map((s) => s + ext.vnis.first).join(', ')} taken on the client's node`
      : '';
  return new NsmError(
    Code.RESOURCE_EXHAUSTED,
    `external endpoint ${name}: no free slot of ${ext.capacity} (${range}${by}${taken}); ` +
      'declare a wider vni range (and pool) for more clients',
  );
}

/**
 * The VXLAN mechanism element of an external endpoint's gateway.
 * Usage: `createEndpointChain({ name, tokens, mechanisms: { VXLAN: externalVxlanEndpoint(name, ext) } })`.
 */
export function externalVxlanEndpoint(name: string, ext: ExternalVxlan): NetworkServiceElement {
  const slots = new SlotTable(ext.capacity);
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      const mech = conn?.mechanism ? clone(conn.mechanism) : undefined;
      if (!conn || !mech || mech.cls !== 'REMOTE')
        throw invalidArgument(
          `external endpoint ${name} is reached over VXLAN only: expected a VXLAN REMOTE mechanism from the client's forwarder`,
        );
      const params = vxlanParameters(mech);
      if (!params.srcIp)
        throw invalidArgument(`VXLAN mechanism without src_ip: expected the client forwarder's tunnel IP`);
      const family = params.srcIp.includes(':') ? 6 : 4;
      if (family !== (ext.vtep.includes(':') ? 6 : 4))
        throw new NsmError(
          Code.FAILED_PRECONDITION,
          `external endpoint ${name}: the VTEP ${ext.vtep} is not in the address family of the client node's tunnel IP ${params.srcIp}`,
        );
      // The offer carries the VNIs the client's node found taken; a refresh sends the mechanism as chosen.
      const avoid = avoided([mech, ...req.mechanism_preferences.filter((m) => m.type === mech.type)], ext);
      const holder = holderOf(conn);
      // After a restart of this gateway a refresh still carries its VNI: it keeps it when free.
      const carried = params.vni !== undefined ? params.vni - ext.vnis.first : undefined;
      const got = slots.take(holder, clientNameOf(conn), conn.id, (s) => avoid.has(s), carried);
      if (got === undefined) throw exhausted(name, ext, slots, avoid);
      const slot = got.slot;
      delete mech.parameters[AVOID_VNIS_PARAMETER];
      setVxlanParameters(mech, {
        dstIp: ext.vtep,
        dstPort: ext.port,
        vni: ext.vnis.first + slot,
        ...(ext.mtu !== undefined ? { mtu: ext.mtu } : {}),
      });
      mech.parameters[EXTERNAL_VNF_PARAMETER] = name;
      const vnf = ext.vnfIp.split('/')[0] ?? ext.vnfIp;
      const out = { ...req, connection: { ...clone(conn), mechanism: mech } };
      const ip = ensureIpContext(out.connection);
      ip.src_ip_addrs = [clientAddress(ext, slot)];
      ip.dst_ip_addrs = [ext.vnfIp];
      ip.src_routes = ext.routes.map((prefix) => ({ prefix, nextHop: vnf }));
      ip.dst_routes = [];
      try {
        return await next.request(ctx, out);
      } catch (err) {
        // A failed refresh keeps the slot of the connection it refreshes; a new one gives it back.
        if (got.fresh) slots.release(holder, conn.id);
        throw err;
      }
    },
    async close(ctx, conn, next) {
      slots.release(holderOf(conn), conn.id);
      await next.close(ctx, conn);
    },
  };
}
