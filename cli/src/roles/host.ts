#!/usr/bin/env node
/**
 * `host`: what a lab's fabric host runs — a machine outside the mesh (an operator's VM or appliance,
 * a legacy VNF) on the lab's physical network. It runs the pod's own containers (NSM_POD_CONTAINERS),
 * restarting them as a pod would, and reports them in its status file; it talks to no mesh component.
 */
import { checkArgs, COMMON_USAGE, readCommon, serveUntilStopped, startRuntime } from './runtime.js';

const USAGE = `Usage: host   (configured by environment variables; the lab sets them)

  Runs the containers of a fabric host and nothing else.
${COMMON_USAGE}`;

const problems: string[] = [];
const common = readCommon(process.env, problems);
if (common.containers.length === 0)
  problems.push('NSM_POD_CONTAINERS is empty: a fabric host runs its own containers and nothing else');
checkArgs('host', USAGE, problems);
const runtime = await startRuntime(common, 'host');
runtime.log.info({ containers: common.containers.map((c) => c.name) }, 'fabric host running');
serveUntilStopped(runtime, async () => {});
