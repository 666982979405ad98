/** Constructors and helpers for wire values, so callers never build half-filled messages by hand. */
import type {
  Connection,
  ConnectionContext,
  IPContext,
  Mechanism,
  NetworkServiceEndpoint,
  NetworkServiceRequest,
  Timestamp,
} from './types.js';

/** An empty IP context. Usage: `conn.context = { ...emptyContext(), MTU: 1500 }`. */
export function emptyIpContext(): IPContext {
  return {
    src_ip_addrs: [],
    dst_ip_addrs: [],
    src_ip_required: false,
    dst_ip_required: false,
    src_routes: [],
    dst_routes: [],
    excluded_prefixes: [],
    ip_neighbors: [],
    extra_prefix_request: [],
    extra_prefixes: [],
    policies: [],
  };
}

/** An empty connection context. */
export function emptyContext(): ConnectionContext {
  return { ip_context: null, dns_context: null, ethernet_context: null, extra_context: {}, MTU: 0 };
}

/** The connection context of `conn`, created (with an IP context) when absent. */
export function ensureIpContext(conn: Connection): IPContext {
  conn.context ??= emptyContext();
  conn.context.ip_context ??= emptyIpContext();
  return conn.context.ip_context;
}

/** A connection with every field present. Usage: `newConnection({ network_service: 'db' })`. */
export function newConnection(init: Partial<Connection> = {}): Connection {
  return {
    id: '',
    network_service: '',
    mechanism: null,
    context: null,
    labels: {},
    path: null,
    network_service_endpoint_name: '',
    payload: '',
    state: 'UP',
    ...init,
  };
}

/** A request with every field present. */
export function newRequest(conn: Partial<Connection> = {}, prefs: Mechanism[] = []): NetworkServiceRequest {
  return { connection: newConnection(conn), mechanism_preferences: prefs };
}

/** A mechanism value. Usage: `newMechanism('KERNEL', 'LOCAL', { name: 'nsm-1' })`. */
export function newMechanism(type: string, cls: string, parameters: Record<string, string> = {}): Mechanism {
  return { type, cls, parameters: { ...parameters } };
}

/** An endpoint record with every field present. */
export function newEndpoint(init: Partial<NetworkServiceEndpoint> = {}): NetworkServiceEndpoint {
  return {
    name: '',
    network_service_names: [],
    network_service_labels: {},
    url: '',
    expiration_time: null,
    initial_registration_time: null,
    path_ids: [],
    ...init,
  };
}

/** Milliseconds since the epoch → protobuf Timestamp. */
export function toTimestamp(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { seconds: String(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Protobuf Timestamp → milliseconds since the epoch (`undefined` when absent). */
export function fromTimestamp(ts: Timestamp | null | undefined): number | undefined {
  if (!ts) return undefined;
  return Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
}

/**
 * A deep copy of a wire value: chain elements never share mutable messages across hops. Objects and
 * arrays are copied; strings (the path's tokens are a few kB) are immutable and shared, which is what
 * makes this cheaper than structuredClone; binary values are copied.
 */
export function clone<T>(value: T): T {
  return copy(value) as T;
}

function copy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copy);
  if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof Map || value instanceof Set)
    return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) out[key] = copy(field);
  return out;
}
