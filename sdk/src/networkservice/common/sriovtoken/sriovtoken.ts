/**
 * SR-IOV tokens, as upstream NSM passes them: a device plugin hands a pod tokens for the pools it
 * asked for (`resources.limits: { worker.domain/10G: 1 }`) in environment variables
 * `NSM_SRIOV_TOKENS_<pool>=<id>[,<id>...]`. A client that labels a request `sriovToken=<pool>` gets
 * one of its tokens as the mechanism parameter `tokenID`, and `serviceDomain=<domain>` beside the
 * label (so selectors can match the domain; upstream replaces the label, which a request made again
 * from the answered connection would then lack); an endpoint puts one of its tokens
 * on the KERNEL mechanism it answers. The forwarder gives the VF that token stands for.
 */
import { Code, NsmError } from '../../../core/errors.js';
import type { Connection, Mechanism } from '../../../api/types.js';
import type { NetworkServiceElement } from '../../../core/chain.js';
import { metadataSlot, type MetadataSlot } from '../../../core/metadata.js';
import type { Context } from '../../../core/context.js';

/** The connection label a client names its pool with, as upstream. */
export const SRIOV_TOKEN_LABEL = 'sriovToken';
/** The label the client element puts in its place. */
export const SERVICE_DOMAIN_LABEL = 'serviceDomain';
/** The KERNEL/VFIO mechanism parameter that carries the token, as upstream. */
export const TOKEN_ID_PARAMETER = 'tokenID';
const ENV_PREFIX = 'NSM_SRIOV_TOKENS_';
/**
 * Labels of an SR-IOV request that ask for VF settings made through the PF: a port VLAN
 * (`vlan-id`, 1..4094, upstream's key) and a MAC (`mac`). They become mechanism parameters of the
 * same names, and stay as labels for a request made again from the answered connection.
 */
export const VF_SETTING_LABELS = ['vlan-id', 'mac'] as const;

/**
 * What is wrong with the value of VF setting `key` (`vlan-id`: 1..4094; `mac`: a unicast MAC),
 * as `is "<value>"; expected ...`; undefined when it is good. One rule for the SDK, the lab's
 * manifest checks and the forwarder.
 */
export function vfSettingProblem(key: (typeof VF_SETTING_LABELS)[number], value: string): string | undefined {
  if (key === 'vlan-id') {
    const n = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
    return n >= 1 && n <= 4094 ? undefined : `is "${value}"; expected a VLAN id 1..4094`;
  }
  const ok = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(value) && (parseInt(value.slice(0, 2), 16) & 1) === 0;
  return ok ? undefined : `is "${value}"; expected a unicast MAC address such as 02:00:00:00:00:01`;
}

/** The VF settings asked by `labels`, checked; INVALID_ARGUMENT naming a bad one. */
function vfSettings(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of VF_SETTING_LABELS) {
    const value = labels[key];
    if (value === undefined) continue;
    const problem = vfSettingProblem(key, value);
    if (problem) throw new NsmError(Code.INVALID_ARGUMENT, `label ${key} ${problem}`);
    out[key] = key === 'vlan-id' ? String(Number(value)) : value.toLowerCase();
  }
  return out;
}

/** The tokens of a pod by pool name, from its environment. */
export function tokensFromEnv(env: NodeJS.ProcessEnv = process.env): Map<string, string[]> {
  const tokens = new Map<string, string[]>();
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith(ENV_PREFIX) || value === undefined) continue;
    const ids = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    tokens.set(key.slice(ENV_PREFIX.length), ids);
  }
  return tokens;
}

/** Which connection holds which of a pod's tokens. */
class TokenBook {
  readonly #holders = new Map<string, string>();
  constructor(readonly tokens: Map<string, string[]>) {}

  /** A free token of `pool` for `connId` (the one it holds already, if any), or a clear error. */
  assign(pool: string, connId: string, held: string | undefined): string {
    if (held && this.#holders.get(held) === connId) return held;
    const ids = this.tokens.get(pool);
    if (!ids || ids.length === 0) {
      const known = [...this.tokens.keys()];
      throw new NsmError(
        Code.FAILED_PRECONDITION,
        `this pod holds no SR-IOV token of pool "${pool}": expected ${ENV_PREFIX}${pool} from the device plugin ` +
          `(resources.limits ${pool}: 1)${known.length ? `; it holds tokens of ${known.join(', ')}` : ''}`,
      );
    }
    const free = ids.find((id) => !this.#holders.has(id));
    if (!free)
      throw new NsmError(
        Code.RESOURCE_EXHAUSTED,
        `every SR-IOV token of pool "${pool}" this pod holds (${ids.length}) is in use by another connection; ` +
          `expected one more in resources.limits ${pool}`,
      );
    this.#holders.set(free, connId);
    return free;
  }

  release(tokenId: string | undefined, connId: string): void {
    if (tokenId && this.#holders.get(tokenId) === connId) this.#holders.delete(tokenId);
  }
}

/**
 * Runs `call` with connection `connId` holding a token of `pool` (the one it held, on a refresh);
 * when a first request fails, the token is given back.
 */
async function withHeldToken<T>(
  ctx: Context,
  book: TokenBook,
  slot: MetadataSlot<string>,
  pool: string,
  connId: string,
  call: (tokenId: string) => Promise<T>,
): Promise<T> {
  const before = slot.get(ctx);
  const tokenId = book.assign(pool, connId, before);
  slot.set(ctx, tokenId);
  try {
    return await call(tokenId);
  } catch (err) {
    if (!before) {
      book.release(tokenId, connId);
      slot.delete(ctx);
    }
    throw err;
  }
}

function withToken(mech: Mechanism, tokenId: string, settings: Record<string, string> = {}): Mechanism {
  return { ...mech, parameters: { ...mech.parameters, ...settings, [TOKEN_ID_PARAMETER]: tokenId } };
}

/**
 * Client element: a request labelled `sriovToken=<pool>` gets a token of that pool on every
 * mechanism it offers (and on its mechanism, when it has one), and `serviceDomain=<domain>` beside
 * the label; labels `vlan-id` and `mac` become mechanism parameters too (VF settings the forwarder
 * makes through the PF). FAILED_PRECONDITION when the pod holds no token of the pool, RESOURCE_EXHAUSTED
 * when all of them are in use. The token is the connection's until it closes.
 * Usage: in the client chain after `mechanismPreferences(...)`: `sriovTokenClient()`.
 */
export function sriovTokenClient(env: NodeJS.ProcessEnv = process.env): NetworkServiceElement {
  const book = new TokenBook(tokensFromEnv(env));
  const slot = metadataSlot<string>('sriovToken.client', 'client');
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      const pool = conn?.labels[SRIOV_TOKEN_LABEL];
      if (!conn || !pool) return next.request(ctx, req);
      const settings = vfSettings(conn.labels);
      return withHeldToken(ctx, book, slot, pool, conn.id, (tokenId) => {
        // The label stays: heal asks again with the connection as answered (a reselect after a
        // close), and that request must still name the pool.
        const labels = { ...conn.labels, [SERVICE_DOMAIN_LABEL]: pool.split('/')[0] ?? pool };
        const out: Connection = {
          ...conn,
          labels,
          ...(conn.mechanism ? { mechanism: withToken(conn.mechanism, tokenId, settings) } : {}),
        };
        return next.request(ctx, {
          ...req,
          connection: out,
          mechanism_preferences: req.mechanism_preferences.map((m) => withToken(m, tokenId, settings)),
        });
      });
    },
    async close(ctx, conn, next) {
      book.release(slot.get(ctx), conn.id);
      slot.delete(ctx);
      await next.close(ctx, conn);
    },
  };
}

/**
 * Endpoint element: puts a token of `pool` (one of this pod's, `NSM_SRIOV_TOKENS_<pool>`) on the
 * KERNEL mechanism of each connection it serves that has none, so the forwarder gives this pod a VF
 * of that pool. Usage: `createEndpoint({ ..., mechanisms: { KERNEL: chain(sriovTokenEndpoint('worker.domain/10G'), kernelEndpoint()) } })`.
 */
export function sriovTokenEndpoint(
  pool: string,
  env: NodeJS.ProcessEnv = process.env,
): NetworkServiceElement {
  const book = new TokenBook(tokensFromEnv(env));
  const slot = metadataSlot<string>('sriovToken.endpoint', 'server');
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      const mech = conn?.mechanism;
      if (!conn || !mech || mech.type !== 'KERNEL' || mech.parameters[TOKEN_ID_PARAMETER])
        return next.request(ctx, req);
      return withHeldToken(ctx, book, slot, pool, conn.id, (tokenId) =>
        next.request(ctx, { ...req, connection: { ...conn, mechanism: withToken(mech, tokenId) } }),
      );
    },
    async close(ctx, conn, next) {
      book.release(slot.get(ctx), conn.id);
      slot.delete(ctx);
      await next.close(ctx, conn);
    },
  };
}
