/** The compiled entry points the lab starts as processes (this module runs from dist/cli/src/lab). */
import { fileURLToPath } from 'node:url';

const script = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));

export const scripts = {
  registry: script('../../../registry/src/main.js'),
  manager: script('../../../manager/src/main.js'),
  forwarder: script('../../../forwarder/src/main.js'),
  pod: script('../roles/pod.js'),
  supervisor: script('./supervisor/main.js'),
};
