/** `nsm exec <pod> -- <cmd...>`: runs a command in a pod's network namespace, as `kubectl exec`. */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { Lab } from '../lab/lab.js';
import { LabPreconditionError, requireRoot } from '../lab/system.js';

/** The namespace of pod `name` in a running lab; a clear error naming the pods otherwise. */
export function podNetns(lab: Lab, name: string): string {
  const state = lab.readState();
  if (!state)
    throw new LabPreconditionError(`lab "${lab.name}" is not up; expected "nsm up${lab.flag}" first`);
  const pod = state.pods.find((p) => p.name === name);
  if (!pod)
    throw new LabPreconditionError(
      `no pod "${name}" in lab "${lab.name}"; pods: ${state.pods.map((p) => p.name).join(', ') || 'none'}`,
    );
  return pod.netns;
}

/** Runs `command` in the pod's namespace with this terminal; resolves with its exit code. */
export async function execCommand(pod: string, command: string[], opts: { lab: string }): Promise<number> {
  requireRoot('nsm exec', 'entering a network namespace needs root');
  if (command.length === 0)
    throw new LabPreconditionError(
      `nsm exec ${pod}: no command; expected "nsm exec ${pod} -- <command> [args...]"`,
    );
  const netns = podNetns(new Lab(opts.lab), pod);
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, ...command], { stdio: 'inherit' });
    child.on('error', reject);
    // A signal's exit status as a shell gives it: 128 + its number.
    child.on('exit', (code, signal) =>
      resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1)),
    );
  });
}
