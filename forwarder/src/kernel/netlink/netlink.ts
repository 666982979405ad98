import { Code, NsmError } from '@nsm-ts/sdk/core';
import { type NetlinkAddon, loadNetlinkAddon } from '../native.js';
import { type AddressInfo, listAddressesRequest, parseAddress } from './address-info.js';
import { addAddressRequest, deleteAddressRequest } from './address-requests.js';
import { describeBatch, encodeBatch, settleBatch } from './batch.js';
import { KernelError, explainCreateError } from './errors.js';
import { type LinkInfo, parseLink } from './link-info.js';
import {
  type LinkChanges,
  type LinkRef,
  type VxlanOptions,
  createLinkRequest,
  createVethRequest,
  createVxlanRequest,
  deleteLinkRequest,
  getLinkRequest,
  listLinksRequest,
  setLinkRequest,
} from './link-requests.js';
import { type NetlinkMessage, type NetlinkRequest, parseMessages } from './message.js';
import { addNeighborRequest, deleteNeighborRequest } from './neighbor-requests.js';
import { type RouteOptions, addRouteRequest, deleteRouteRequest } from './route-requests.js';

/** Set on dump replies when the table changed mid-dump; the dump must be repeated. */
const NLM_F_DUMP_INTR = 0x10;
const DUMP_ATTEMPTS = 3;

/**
 * rtnetlink bound to one network namespace through a socket created inside it. Requests are
 * serialised on the socket; each call is one round trip, and {@link Netlink.execute} sends any
 * mix of requests as one batch.
 * Usage: `const nl = Netlink.open('/run/netns/pod'); await nl.setLink('eth0', { up: true }); nl.close();`
 */
export class Netlink {
  private seq = 1;
  private inFlight = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly addon: NetlinkAddon,
    private readonly fd: number,
    /** The namespace file this socket lives in; null for the process's own namespace. */
    readonly nsPath: string | null,
  ) {}

  /** Opens a socket in the namespace at `nsPath` (e.g. `/run/netns/x`), or in the current one. */
  static open(nsPath: string | null): Netlink {
    const addon = loadNetlinkAddon();
    try {
      return new Netlink(addon, addon.openNetlinkInNamespace(nsPath), nsPath);
    } catch (err) {
      throw KernelError.fromNative(`Netlink.open(${nsPath ?? 'current namespace'})`, err);
    }
  }

  /** Sends the requests in one batch; resolves with each request's reply messages. */
  execute(requests: readonly NetlinkRequest[]): Promise<NetlinkMessage[][]> {
    if (this.closed) {
      const where = this.nsPath ?? 'current namespace';
      return Promise.reject(new NsmError(Code.FAILED_PRECONDITION, `netlink socket for ${where} is closed`));
    }
    if (requests.length === 0) return Promise.resolve([]);
    this.inFlight++;
    const run = this.tail.then(() => this.transact(requests)).finally(() => this.settled());
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async transact(requests: readonly NetlinkRequest[]): Promise<NetlinkMessage[][]> {
    const batch = encodeBatch(requests, this.seq);
    this.seq = (this.seq + requests.length) >>> 0 || 1;
    let reply: Buffer;
    try {
      reply = await this.addon.transact(this.fd, batch.buffer);
    } catch (err) {
      throw KernelError.fromNative(describeBatch(requests), err);
    }
    return settleBatch(batch, parseMessages(reply));
  }

  private settled(): void {
    this.inFlight--;
    if (!this.closed || this.inFlight > 0) return;
    try {
      this.addon.close(this.fd);
    } catch {
      // The caller asked for close long ago and cannot be told; the descriptor is gone either way.
    }
  }

  /** Closes the socket once requests already sent have settled. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.inFlight === 0) this.addon.close(this.fd);
  }

  /** Creates a veth pair; the peer is created directly in the namespace open at `peerNsFd`. */
  async createVeth(name: string, peerName: string, peerNsFd?: number): Promise<LinkInfo> {
    return this.createAndGet(createVethRequest(name, peerName, peerNsFd), name, 'veth');
  }

  /** Creates a point-to-point VXLAN device (learning off) whose UDP socket lives in this namespace. */
  async createVxlan(options: VxlanOptions): Promise<LinkInfo> {
    return this.createAndGet(createVxlanRequest(options), options.name, 'vxlan');
  }

  /** Creates a link of a kind without parameters (`bridge`, ...); says so when the kernel lacks it. */
  async createLink(name: string, kind: string): Promise<LinkInfo> {
    return this.createAndGet(createLinkRequest(name, kind), name, kind);
  }

  // The read-back rides in the same batch, so creating still costs one round trip.
  private async createAndGet(create: NetlinkRequest, name: string, kind: string): Promise<LinkInfo> {
    try {
      const [, got] = await this.execute([create, getLinkRequest(name)]);
      return parseLink(firstPayload(got, create.operation));
    } catch (err) {
      throw err instanceof KernelError ? explainCreateError(err, kind) : err;
    }
  }

  /** Applies changes in one message; a rename by name first looks the index up. */
  async setLink(ref: LinkRef, changes: LinkChanges): Promise<void> {
    const target =
      changes.name !== undefined && typeof ref === 'string' ? (await this.getLink(ref)).index : ref;
    await this.execute([setLinkRequest(target, changes)]);
  }

  /** Deletes a link; deleting one end of a veth deletes both. */
  async deleteLink(ref: LinkRef): Promise<void> {
    await this.execute([deleteLinkRequest(ref)]);
  }

  /** Reads a link; rejects with a NOT_FOUND KernelError (ENODEV) when it does not exist. */
  async getLink(ref: LinkRef): Promise<LinkInfo> {
    const [got] = await this.execute([getLinkRequest(ref)]);
    return parseLink(firstPayload(got, `getLink(${ref})`));
  }

  /** Like {@link Netlink.getLink}, but resolves undefined when the link does not exist. */
  async findLink(ref: LinkRef): Promise<LinkInfo | undefined> {
    try {
      return await this.getLink(ref);
    } catch (err) {
      if (err instanceof KernelError && err.errnoName === 'ENODEV') return undefined;
      throw err;
    }
  }

  /** Lists every link of the namespace. */
  async listLinks(): Promise<LinkInfo[]> {
    return (await this.dump(listLinksRequest())).map((m) => parseLink(m.payload));
  }

  /** Lists every IPv4 and IPv6 address of the namespace. */
  async listAddresses(): Promise<AddressInfo[]> {
    const msgs = await this.dump(listAddressesRequest());
    return msgs.map((m) => parseAddress(m.payload)).filter((a) => a !== undefined);
  }

  private async dump(request: NetlinkRequest): Promise<NetlinkMessage[]> {
    for (let attempt = 1; ; attempt++) {
      const [msgs = []] = await this.execute([request]);
      if (attempt < DUMP_ATTEMPTS && msgs.some((m) => m.flags & NLM_F_DUMP_INTR)) continue;
      return msgs;
    }
  }

  /** Adds an address with replace semantics (IPv6 without duplicate address detection). */
  async addAddress(ifindex: number, cidr: string): Promise<void> {
    await this.execute([addAddressRequest(ifindex, cidr)]);
  }

  /** Removes an address. */
  async deleteAddress(ifindex: number, cidr: string): Promise<void> {
    await this.execute([deleteAddressRequest(ifindex, cidr)]);
  }

  /** Adds or replaces a route in the main table. */
  async addRoute(route: RouteOptions): Promise<void> {
    await this.execute([addRouteRequest(route)]);
  }

  /** Deletes a route. */
  async deleteRoute(route: RouteOptions): Promise<void> {
    await this.execute([deleteRouteRequest(route)]);
  }

  /** Adds or replaces a permanent neighbour entry. */
  async addNeighbor(ifindex: number, ip: string, mac: string): Promise<void> {
    await this.execute([addNeighborRequest(ifindex, ip, mac)]);
  }

  /** Removes a neighbour entry. */
  async deleteNeighbor(ifindex: number, ip: string): Promise<void> {
    await this.execute([deleteNeighborRequest(ifindex, ip)]);
  }
}

function firstPayload(msgs: readonly NetlinkMessage[] | undefined, operation: string): Buffer {
  const first = msgs?.[0];
  if (!first) throw new NsmError(Code.INTERNAL, `${operation}: the kernel sent no link in its reply`);
  return first.payload;
}
