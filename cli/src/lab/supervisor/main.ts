#!/usr/bin/env node
/**
 * The supervisor process of one lab (`nsm up` starts it; `nsm down` ends it): runs the lab's
 * components as its children and answers the `nsm` command on a unix socket in the lab directory
 * (HTTP with JSON bodies): list, add, start, stop and remove components, and shut everything down.
 *
 *   node supervisor/main.js <lab>
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { rmSync } from 'node:fs';
import { createLogger } from '@nsm-ts/sdk/core';
import { waitHealthy } from '../daemons.js';
import { DEFAULT_CERT_LIFETIME_MS, LabIssuer } from '../identities.js';
import { Lab } from '../lab.js';
import { registerServices } from '../services.js';
import { type ComponentSpec, supervisorReportFile, supervisorSocket } from './spec.js';
import { Supervisor, UnknownComponentError } from './supervisor.js';

const lab = new Lab(process.argv[2] ?? 'default');
const log = createLogger('supervisor', process.env['NSM_LOG_LEVEL'] ?? 'info');

// The supervisor is the lab's issuer: identities are issued before a component starts and renewed at
// two thirds of their lifetime while it runs (the components watch their files).
const issuer = new LabIssuer(lab, {
  lifetimeMs: lab.readState()?.certLifetimeMs ?? DEFAULT_CERT_LIFETIME_MS,
  log,
});
const renewal = setInterval(() => void issuer.renewDue(), 1000);

const supervisor = new Supervisor({
  lab: lab.name,
  log,
  reportFile: supervisorReportFile(lab),
  beforeStart: (spec) => issuer.ensure(spec),
  async afterStart(spec) {
    if (spec.kind !== 'registry') return;
    // The registry keeps records in memory: after every start the manifests' NetworkServices are
    // registered again (endpoints and forwarders re-register by themselves).
    await waitHealthy(lab, lab.socket('registry'), 'the registry');
    await registerServices(lab, lab.readState()?.services ?? []);
    log.info({ services: lab.readState()?.services.length ?? 0 }, 'network services registered');
  },
});

async function body(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

function reply(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(payload));
}

let shuttingDown: Promise<void> | undefined;
function shutdown(): Promise<void> {
  shuttingDown ??= (async () => {
    log.info('shutting down');
    clearInterval(renewal);
    await supervisor.shutdown();
    server.close();
    rmSync(supervisorSocket(lab), { force: true });
  })();
  return shuttingDown;
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://supervisor');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const [collection, name, action] = parts;
  if (req.method === 'GET' && collection === 'components' && !name)
    return reply(res, 200, { components: supervisor.list() });
  if (req.method === 'POST' && collection === 'components' && !name) {
    const spec = (await body(req)) as ComponentSpec;
    return reply(res, 200, { changed: await supervisor.start(spec) });
  }
  if (req.method === 'POST' && collection === 'components' && name && action === 'start')
    return reply(res, 200, { changed: await supervisor.start(name) });
  if (req.method === 'POST' && collection === 'components' && name && action === 'stop')
    return reply(res, 200, { changed: await supervisor.stop(name) });
  if (req.method === 'DELETE' && collection === 'components' && name) {
    await supervisor.remove(name);
    issuer.forget(name);
    issuer.forget(`pod/${name}`);
    return reply(res, 200, { changed: true });
  }
  if (req.method === 'POST' && collection === 'shutdown') {
    // Answer once everything is stopped: the caller (`nsm down`) goes on with what is left.
    await supervisor.shutdown();
    res.on('finish', () => void shutdown().then(() => process.exit(0)));
    return reply(res, 200, { changed: true });
  }
  reply(res, 404, { error: `no such request: ${req.method ?? '?'} ${url.pathname}` });
}

const server = createServer((req, res) => {
  route(req, res).catch((err: unknown) => {
    const status = err instanceof UnknownComponentError ? 404 : 500;
    reply(res, status, { error: err instanceof Error ? err.message : String(err) });
  });
});

rmSync(supervisorSocket(lab), { force: true });
server.listen(supervisorSocket(lab), () => {
  supervisor.report();
  log.info({ lab: lab.name, socket: supervisorSocket(lab) }, 'supervisor serving');
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    void shutdown().then(() => process.exit(0));
  });
}
