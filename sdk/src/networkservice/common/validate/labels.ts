/**
 * Label maps on the wire: any map of strings, as upstream NSM accepts (the Kubernetes rules apply where
 * users write YAML, see `validateKubernetesLabels` in tools). In-process callers are not held by protobuf,
 * so the shape is still checked.
 */
import { invalidArgument } from '../../../core/errors.js';
import { quote } from '../../../tools/labels.js';

/**
 * Throws INVALID_ARGUMENT naming `field` unless `labels` is a map of strings.
 * Usage: `validateLabelMap('connection.labels', conn.labels)`.
 */
export function validateLabelMap(field: string, labels: unknown): void {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw invalidArgument(
      `${field} is ${Array.isArray(labels) ? 'an array' : String(labels)}: expected a map of strings`,
    );
  }
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== 'string')
      throw invalidArgument(`${field}[${quote(key)}] is a ${typeof value}: expected a string`);
  }
}
