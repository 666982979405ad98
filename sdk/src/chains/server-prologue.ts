/**
 * What every server hop does first: check the request, take its place on the path, serialise the
 * connection's events, keep per-connection state, sign its segment, close connections whose refresh
 * stops coming, and report changes to its monitor subscribers.
 */
import { named, type NetworkServiceElement } from '../core/chain.js';
import { metadata } from '../core/metadata.js';
import { begin } from '../networkservice/common/begin/begin.js';
import { monitorServer, type ConnectionMonitor } from '../networkservice/common/monitor/monitor.js';
import { timeout } from '../networkservice/common/timeout/timeout.js';
import { updatePath } from '../networkservice/common/updatepath/updatepath.js';
import { updateTokenServer } from '../networkservice/common/updatetoken/updatetoken.js';
import { validateRequest } from '../networkservice/common/validate/validate.js';
import type { TokenGenerator } from '../tools/token/token.js';

/** Usage: `toHandler([...serverPrologue(name, tokens, monitor), ...ownElements])`. */
export function serverPrologue(
  name: string,
  tokens: TokenGenerator,
  monitor: ConnectionMonitor,
): NetworkServiceElement[] {
  return [
    named('validate', validateRequest()),
    named('updatePath', updatePath(name)),
    named('begin', begin()),
    named('metadata', metadata('server')),
    named('updateToken', updateTokenServer(tokens)),
    named('timeout', timeout()),
    named('monitor', monitorServer(monitor)),
  ];
}
