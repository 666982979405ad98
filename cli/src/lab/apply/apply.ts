/**
 * `nsm apply -f` and `nsm delete -f` on a running lab: the lab's objects (see applied.ts) with the
 * given ones added or replaced (apply) or taken out (delete) are validated whole, as `nsm up`
 * validates; nothing changes when they are not valid. Then only what differs is touched:
 * NetworkServices registered or removed, pods whose configuration changed (a Pod edited, a
 * Deployment scaled or edited) replaced, new pods created (endpoints first, registered before the
 * clients ask), gone ones deleted as `nsm delete pod` does. Every other pod keeps running with its
 * connections as they are.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkService } from '@nsm-ts/sdk/api';
import { createContext } from '@nsm-ts/sdk/core';
import { loadManifests, type LabPlan } from '../../manifests/manifests.js';
import { sriovPaths } from '../daemons.js';
import { deletePod } from '../delete.js';
import { labDial } from '../identities.js';
import type { Lab, LabState } from '../lab.js';
import type { PendingConnection } from '../pending.js';
import { podSpec } from '../pods.js';
import { registerServices } from '../services.js';
import type { ComponentSpec } from '../supervisor/spec.js';
import { LabPreconditionError, requireRoot } from '../system.js';
import { cableHosts, createPodNamespaces } from '../topology.js';
import { hostsOf, podStateOf, settle, startPods, waitRegistered } from '../up.js';
import {
  objectsOf,
  readApplied,
  withApplyLock,
  writeApplied,
  writeObjects,
  type ObjectDoc,
} from './applied.js';

/** Options of {@link applyObjects}. */
export interface ApplyOptions {
  paths: string[];
  /** `apply` adds and replaces the objects of `paths`; `delete` removes them. */
  mode: 'apply' | 'delete';
  progress: (line: string) => void;
  /** How long to wait for the new pods' connections (default 60 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One change, as kubectl prints it: `pod/eir created`. */
export interface Change {
  kind: 'pod' | 'networkservice';
  name: string;
  action: 'created' | 'configured' | 'deleted';
}

/** What apply did. */
export interface ApplyResult {
  changes: Change[];
  unchanged: number;
  /** Connections of the created or replaced pods that are not up yet. */
  pending: PendingConnection[];
}

/** The objects the lab will hold: the given ones added or replaced, or taken out. */
function mergedObjects(
  lab: Lab,
  current: Map<string, ObjectDoc>,
  given: ObjectDoc[],
  mode: ApplyOptions['mode'],
) {
  const keys = new Set(given.map((o) => o.key));
  if (mode === 'delete') {
    const missing = given.filter((o) => !current.has(o.key));
    if (missing.length > 0)
      throw new LabPreconditionError(
        `nsm delete -f: ${missing.map((o) => `${o.kind} "${o.name}"`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not in lab "${lab.name}"; it holds ${[...current.values()].map((o) => `${o.kind} "${o.name}"`).join(', ')}`,
      );
  }
  const retained = [...current.values()].filter((o) => !keys.has(o.key));
  if (mode === 'delete' && retained.length === 0)
    throw new LabPreconditionError(
      `nsm delete -f would remove every object of lab "${lab.name}"; expected "nsm down" for that`,
    );
  return { retained, all: mode === 'apply' ? [...retained, ...given] : retained };
}

/** Validates the lab's objects after the change, as `nsm up` would (positions name the given files). */
function planFor(
  state: LabState,
  retained: ObjectDoc[],
  paths: string[],
  mode: ApplyOptions['mode'],
): LabPlan {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-apply-'));
  try {
    // Nothing retained: the given files hold every object of the lab (applied again, as kubectl allows).
    const kept = retained.length > 0 ? [join(dir, 'lab')] : [];
    if (kept.length > 0) writeObjects(join(dir, 'lab'), retained);
    return loadManifests(mode === 'apply' ? [...kept, ...paths] : kept, {
      nodes: state.nodes.length,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether two pod specs run the same thing the same way. */
function sameSpec(a: ComponentSpec, b: ComponentSpec): boolean {
  const env = (s: ComponentSpec) =>
    JSON.stringify(Object.entries(s.env).sort(([x], [y]) => (x < y ? -1 : 1)));
  return a.netns === b.netns && a.node === b.node && a.script === b.script && env(a) === env(b);
}

/** Whether a fabric host's cable and an external endpoint's check targets stay as they are. */
function sameOutside(a: LabState['pods'][number] | undefined, b: LabState['pods'][number]): boolean {
  const outside = (p: LabState['pods'][number] | undefined) =>
    JSON.stringify([p?.address, p?.mtu, p?.checks ?? []]);
  return outside(a) === outside(b);
}

const sameService = (a: NetworkService, b: NetworkService) => JSON.stringify(a) === JSON.stringify(b);

async function unregisterServices(lab: Lab, services: NetworkService[]): Promise<void> {
  const registry = await labDial(lab, lab.socket('registry'));
  try {
    for (const service of services)
      await registry.serviceRegistry.unregister(createContext({ deadline: Date.now() + 5000 }), service);
  } finally {
    registry.close();
  }
}

/**
 * Applies (or deletes) the objects of `options.paths` on the running lab, one change at a time.
 * The lab's objects are written as soon as they are valid, as an API server keeps the desired
 * state: should a step fail half way, applying the same files again finishes the change.
 */
export async function applyObjects(lab: Lab, options: ApplyOptions): Promise<ApplyResult> {
  requireRoot(options.mode === 'apply' ? 'nsm apply' : 'nsm delete -f', 'the lab runs as root');
  if (!lab.readState())
    throw new LabPreconditionError(`lab "${lab.name}" is not up; expected "nsm up${lab.flag}" first`);
  return withApplyLock(lab, () => change(lab, options));
}

async function change(lab: Lab, options: ApplyOptions): Promise<ApplyResult> {
  const verb = options.mode === 'apply' ? 'nsm apply' : 'nsm delete -f';
  let state = lab.readState();
  if (!state)
    throw new LabPreconditionError(`lab "${lab.name}" is not up; expected "nsm up${lab.flag}" first`);
  const current = readApplied(lab);
  if (current.size === 0)
    throw new LabPreconditionError(
      `lab "${lab.name}" has no record of its manifests (made by an older nsm up): "nsm down${lab.flag}" and "nsm up" again`,
    );
  const given = objectsOf(options.paths);
  if (given.length === 0)
    throw new LabPreconditionError(
      `${verb}: ${options.paths.join(', ')} holds no object; expected documents with a kind and metadata.name`,
    );
  const { retained, all } = mergedObjects(lab, current, given, options.mode);
  const plan = planFor(state, retained, options.paths, options.mode);
  for (const warning of plan.warnings) options.progress(`warning: ${warning}`);
  const sriovFile = sriovPaths(lab, state.nodes[0]?.name ?? '').config;
  const sriovBefore = existsSync(sriovFile) ? readFileSync(sriovFile, 'utf8') : undefined;
  if (plan.sriov?.text !== sriovBefore)
    throw new LabPreconditionError(
      `${verb}: ConfigMap sriov-config cannot change on a running lab (its NICs are emulated from it at nsm up); expected "nsm down" and "nsm up" for that`,
    );
  writeApplied(lab, all);

  const logLevel = state.components.find((c) => c.kind === 'pod')?.env['NSM_LOG_LEVEL'] ?? 'info';
  const oldSpecs = new Map(state.components.filter((c) => c.kind === 'pod').map((c) => [c.name, c]));
  const wanted = plan.pods.map((p) => ({ plan: p, spec: podSpec(lab, p, logLevel, state!.secure) }));
  const wantedNames = new Set(wanted.map((w) => w.spec.name));
  const gone = [...oldSpecs.keys()].filter((n) => !wantedNames.has(n));
  const replaced = wanted.filter(
    (w) =>
      oldSpecs.has(w.spec.name) &&
      (!sameSpec(oldSpecs.get(w.spec.name)!, w.spec) ||
        !sameOutside(
          state!.pods.find((p) => p.name === w.plan.name),
          podStateOf(lab, w.plan),
        )),
  );
  const created = wanted.filter((w) => !oldSpecs.has(w.spec.name));
  const servicesChanged = plan.services.filter((s) => {
    const before = state!.services.find((o) => o.name === s.name);
    return !before || !sameService(before, s);
  });
  const servicesGone = state.services.filter((s) => !plan.services.some((n) => n.name === s.name));
  const changes: Change[] = [];

  if (servicesChanged.length > 0) await registerServices(lab, servicesChanged);
  for (const s of servicesChanged)
    changes.push({
      kind: 'networkservice',
      name: s.name,
      action: state.services.some((o) => o.name === s.name) ? 'configured' : 'created',
    });
  state = { ...state, services: plan.services };
  lab.writeState(state);

  for (const name of [...gone, ...replaced.map((w) => w.spec.name)]) {
    const pod = name.replace(/^pod\//, '');
    state = await deletePod(lab, state, pod);
    options.progress(`pod/${pod} ${gone.includes(name) ? 'deleted' : 'stopped, to be replaced'}`);
  }
  for (const name of gone) changes.push({ kind: 'pod', name: name.replace(/^pod\//, ''), action: 'deleted' });

  const starting = [...replaced, ...created];
  if (starting.length > 0) {
    await createPodNamespaces(
      lab,
      starting.filter((w) => !w.plan.external).map((w) => w.plan.name),
    );
    await cableHosts(lab, hostsOf(starting.map((w) => w.plan)));
    state = { ...state, pods: [...state.pods, ...starting.map((w) => podStateOf(lab, w.plan))] };
    const step = () => undefined;
    await startPods(
      lab,
      state,
      starting.filter((w) => w.plan.host).map((w) => w.plan),
      logLevel,
      step,
    );
    const endpoints = starting.filter((w) => w.plan.endpoint).map((w) => w.plan);
    await startPods(lab, state, endpoints, logLevel, step);
    if (endpoints.length > 0) await waitRegistered(lab, endpoints, options);
    await startPods(
      lab,
      state,
      starting.filter((w) => !w.plan.endpoint && !w.plan.host).map((w) => w.plan),
      logLevel,
      step,
    );
    for (const w of starting)
      changes.push({
        kind: 'pod',
        name: w.plan.name,
        action: replaced.includes(w) ? 'configured' : 'created',
      });
  }

  if (servicesGone.length > 0) {
    await unregisterServices(lab, servicesGone);
    for (const s of servicesGone) changes.push({ kind: 'networkservice', name: s.name, action: 'deleted' });
  }
  state = { ...state, manifests: [...new Set([...state.manifests, ...options.paths])] };
  lab.writeState(state);
  for (const c of changes) options.progress(`${c.kind}/${c.name} ${c.action}`);
  const pending =
    starting.length > 0 ? await settle(lab, { pods: starting.map((w) => w.plan) }, options) : [];
  const unchanged =
    wanted.length - replaced.length - created.length + plan.services.length - servicesChanged.length;
  return { changes, unchanged, pending };
}
