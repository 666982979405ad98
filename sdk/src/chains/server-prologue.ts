/**
 * What every server hop does first: check the request, take its place on the path, record its caller's
 * token and sign its own segment, authorize the call (when `authorization` is given), serialise the
 * connection's events, keep per-connection state, close connections whose refresh stops coming, and
 * report changes to its monitor subscribers.
 */
import { named, type NetworkServiceElement } from '../core/chain.js';
import { metadata } from '../core/metadata.js';
import { authorize, type AuthorizeOptions } from '../networkservice/common/authorize/authorize.js';
import { begin } from '../networkservice/common/begin/begin.js';
import { monitorServer, type ConnectionMonitor } from '../networkservice/common/monitor/monitor.js';
import { timeout } from '../networkservice/common/timeout/timeout.js';
import { updatePath } from '../networkservice/common/updatepath/updatepath.js';
import { updateTokenServer } from '../networkservice/common/updatetoken/updatetoken.js';
import { validateRequest } from '../networkservice/common/validate/validate.js';
import type { TokenGenerator } from '../security/tokens.js';

/**
 * `authorization` undefined = allow all (the SDK's default); the daemons pass it.
 * Usage: `toHandler([...serverPrologue(name, tokens, monitor, { verifier }), ...ownElements])`.
 */
export function serverPrologue(
  name: string,
  tokens: TokenGenerator,
  monitor: ConnectionMonitor,
  authorization?: AuthorizeOptions,
): NetworkServiceElement[] {
  return [
    named('validate', validateRequest()),
    named('updatePath', updatePath(name)),
    named('updateToken', updateTokenServer(tokens)),
    ...(authorization ? [named('authorize', authorize(authorization))] : []),
    named('begin', begin()),
    named('metadata', metadata('server')),
    named('timeout', timeout()),
    named('monitor', monitorServer(monitor)),
  ];
}
