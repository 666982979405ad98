/**
 * The attributes of the mesh's spans (listed in docs/observability.md, "Traces"). The gRPC ones are
 * OpenTelemetry's semantic conventions; the `nsm.*` ones are this mesh's.
 */
import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import type { Connection } from '../api/types.js';
import { Code, codeName, NsmError } from '../core/errors.js';

export const ATTR = {
  hop: 'nsm.hop',
  connectionId: 'nsm.connection.id',
  pathIds: 'nsm.path.ids',
  service: 'nsm.network_service',
  endpoint: 'nsm.endpoint',
  mechanism: 'nsm.mechanism',
  result: 'nsm.result',
  code: 'nsm.code',
  stage: 'nsm.stage',
  part: 'nsm.stage.part',
  nextHop: 'nsm.next_hop.url',
  attempt: 'nsm.request.attempt',
  rpcSystem: 'rpc.system',
  rpcService: 'rpc.service',
  rpcMethod: 'rpc.method',
  grpcStatus: 'rpc.grpc.status_code',
} as const;

/** What a connection tells about a hop: its own path segment's id, the path's ids, service, endpoint, mechanism. */
export function connectionAttributes(conn: Connection | null | undefined, hop: string): Attributes {
  if (!conn) return {};
  const segments = conn.path?.path_segments ?? [];
  const own = segments.find((s) => s.name === hop) ?? segments[conn.path?.index ?? 0];
  const out: Attributes = {};
  const id = own?.id || conn.id;
  if (id) out[ATTR.connectionId] = id;
  const ids = segments.map((s) => s.id).filter(Boolean);
  if (ids.length > 0) out[ATTR.pathIds] = ids;
  if (conn.network_service) out[ATTR.service] = conn.network_service;
  if (conn.network_service_endpoint_name) out[ATTR.endpoint] = conn.network_service_endpoint_name;
  if (conn.mechanism?.type) out[ATTR.mechanism] = conn.mechanism.type;
  return out;
}

/** Ends `span` (at `end`, epoch ms, or now) with the outcome: ok, or the error recorded with its gRPC code. */
export function endWith(span: Span, err: unknown, end?: number): void {
  if (err === undefined) {
    span.setAttributes({ [ATTR.result]: 'ok', [ATTR.code]: 'OK', [ATTR.grpcStatus]: Code.OK });
    span.setStatus({ code: SpanStatusCode.OK });
  } else {
    const nsm = NsmError.from(err);
    span.setAttributes({
      [ATTR.result]: 'error',
      [ATTR.code]: codeName(nsm.code),
      [ATTR.grpcStatus]: nsm.code,
    });
    span.recordException(err instanceof Error ? err : nsm, end);
    span.setStatus({ code: SpanStatusCode.ERROR, message: nsm.message });
  }
  span.end(end);
}
