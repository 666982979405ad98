/**
 * validateRequest: the first element of every server chain. Malformed requests are refused with an
 * INVALID_ARGUMENT naming the field and the expected form, before any element allocates anything.
 */
import type { Connection, Mechanism } from '../../../api/types.js';
import { element, type NetworkServiceElement } from '../../../core/chain.js';
import { invalidArgument } from '../../../core/errors.js';
import { validateInterfaceName } from '../mechanisms/kernel.js';
import { quote } from '../../../tools/labels.js';
import { validateLabelMap } from './labels.js';

/** Mechanism types whose `name` parameter is a Linux interface name. */
const interfaceNamed = new Set(['KERNEL', 'MEMIF']);

function checkMechanism(field: string, m: Mechanism | null | undefined): void {
  if (!m || typeof m.type !== 'string' || m.type === '') {
    throw invalidArgument(
      `${field}.type is empty: expected a mechanism type such as KERNEL, MEMIF, VXLAN or NOOP`,
    );
  }
  const params: unknown = m.parameters;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw invalidArgument(`${field}.parameters is not a map: expected a map of strings`);
  }
  for (const [key, value] of Object.entries(params)) {
    if (typeof value !== 'string') {
      throw invalidArgument(`${field}.parameters[${quote(key)}] is a ${typeof value}: expected a string`);
    }
  }
  const name = m.parameters['name'];
  if (interfaceNamed.has(m.type) && name !== undefined && name !== '') {
    validateInterfaceName(name, `${field}.parameters.name`);
  }
}

function checkPath(conn: Connection): void {
  const path = conn.path;
  if (!path) return;
  const count = path.path_segments.length;
  // An empty path is a first request from a client; index 0 is the only sensible value then.
  if (count === 0 ? path.index !== 0 : path.index >= count) {
    const expected = count === 0 ? '0 for an empty path' : `0..${count - 1}`;
    throw invalidArgument(
      `connection.path.index ${path.index} is out of range: the path has ${count} segments (expected ${expected})`,
    );
  }
}

function checkConnection(conn: Connection | null | undefined): asserts conn is Connection {
  if (!conn) throw invalidArgument('request.connection is missing: expected a Connection');
  if (typeof conn.network_service !== 'string' || conn.network_service === '') {
    throw invalidArgument('connection.network_service is empty: expected the name of a network service');
  }
  validateLabelMap('connection.labels', conn.labels);
  checkPath(conn);
  if (conn.mechanism?.type) checkMechanism('connection.mechanism', conn.mechanism);
}

/**
 * Server element refusing malformed requests: missing connection, empty network_service, labels that are
 * not a map of strings (any strings: the wire accepts what upstream accepts), path index out of range,
 * mechanism preferences without a type, bad interface names.
 * Close is not checked: a close must always reach the elements holding resources.
 * Usage: `chain(validateRequest(), updatePath(name), begin(), ...)`.
 */
export function validateRequest(): NetworkServiceElement {
  return element({
    async request(ctx, req, next) {
      checkConnection(req.connection);
      if (!Array.isArray(req.mechanism_preferences)) {
        throw invalidArgument('request.mechanism_preferences is not a list: expected a list of mechanisms');
      }
      req.mechanism_preferences.forEach((m, i) => checkMechanism(`mechanism_preferences[${i}]`, m));
      return next.request(ctx, req);
    },
  });
}
