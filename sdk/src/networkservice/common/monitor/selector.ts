/** Which connections a monitor subscriber may see, by the selector it sent. */
import type { Connection, MonitorScopeSelector } from '../../../api/types.js';

/**
 * True when `conn` is in scope: every selector is optional; a path-segment selector matches a connection
 * whose path holds a segment with that id (or, when the selector has no id, that name).
 */
export function inScope(conn: Connection, selector: MonitorScopeSelector): boolean {
  if (selector.network_services.length > 0 && !selector.network_services.includes(conn.network_service))
    return false;
  if (selector.path_segments.length === 0) return true;
  const segments = conn.path?.path_segments ?? [];
  return selector.path_segments.some((want) =>
    segments.some((seg) => (want.id ? seg.id === want.id : want.name !== '' && seg.name === want.name)),
  );
}
