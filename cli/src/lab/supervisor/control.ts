/** The `nsm` command's side of the supervisor: requests over its unix socket, and starting it. */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { request } from 'node:http';
import type { Lab } from '../lab.js';
import { scripts } from '../scripts.js';
import { waitFor } from '../wait.js';
import { type ComponentSpec, type ComponentStatus, supervisorSocket } from './spec.js';

/** The supervisor answered with an error (unknown component, failed start ...). */
export class SupervisorError extends Error {
  override readonly name = 'SupervisorError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** One request to the supervisor of `lab`; rejects when it is not running or answers an error. */
export function callSupervisor<T>(
  lab: Lab,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  payload?: unknown,
  timeoutMs = 30_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath: supervisorSocket(lab), method, path, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += String(chunk)));
        res.on('end', () => {
          let parsed: { error?: string } & Record<string, unknown>;
          try {
            parsed = JSON.parse(text || '{}') as typeof parsed;
          } catch {
            reject(new SupervisorError(`the supervisor answered ${res.statusCode ?? '?'}: ${text}`, 500));
            return;
          }
          if ((res.statusCode ?? 500) >= 400)
            reject(
              new SupervisorError(parsed.error ?? `status ${res.statusCode ?? '?'}`, res.statusCode ?? 500),
            );
          else resolve(parsed as T);
        });
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`the supervisor did not answer within ${timeoutMs} ms`)),
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? new Error(`the supervisor of lab "${lab.name}" is not running (${err.code})`, { cause: err })
          : err,
      ),
    );
    req.end(payload === undefined ? undefined : JSON.stringify(payload));
  });
}

const path = (name: string): string => `/components/${encodeURIComponent(name)}`;

/** The supervisor's components. */
export async function listComponents(lab: Lab): Promise<ComponentStatus[]> {
  return (await callSupervisor<{ components: ComponentStatus[] }>(lab, 'GET', '/components')).components;
}

/** Adds and starts a component. */
export async function addComponent(lab: Lab, spec: ComponentSpec): Promise<void> {
  await callSupervisor(lab, 'POST', '/components', spec);
}

/** Starts or stops a known component; resolves with whether anything changed. */
export async function controlComponent(lab: Lab, name: string, action: 'start' | 'stop'): Promise<boolean> {
  return (await callSupervisor<{ changed: boolean }>(lab, 'POST', `${path(name)}/${action}`)).changed;
}

/** Stops and forgets a component. */
export async function removeComponent(lab: Lab, name: string): Promise<void> {
  await callSupervisor(lab, 'DELETE', path(name));
}

/** Stops everything and ends the supervisor. */
export async function shutdownSupervisor(lab: Lab): Promise<void> {
  await callSupervisor(lab, 'POST', '/shutdown', undefined, 60_000);
}

/** Starts the supervisor of `lab` (detached: it outlives `nsm up`) and waits until it answers. */
export async function startSupervisor(lab: Lab, logLevel: string): Promise<void> {
  const fd = openSync(lab.log('supervisor'), 'a');
  try {
    const child = spawn(process.execPath, [scripts.supervisor, lab.name], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, NSM_LAB: lab.name, NSM_LAB_COMPONENT: 'supervisor', NSM_LOG_LEVEL: logLevel },
    });
    child.unref();
  } finally {
    closeSync(fd);
  }
  await waitFor(
    'the lab supervisor',
    10_000,
    () =>
      listComponents(lab).then(
        () => true,
        () => undefined,
      ),
    50,
  );
}
