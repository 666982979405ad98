#!/usr/bin/env node
/**
 * The admission webhook daemon (`nsm-webhook`): serves HTTPS on NSM_PORT with the certificate files,
 * or with a self-signed certificate after registering its MutatingWebhookConfiguration itself.
 * Exits 2 on a bad configuration, 1 when it cannot serve, 0 on SIGTERM/SIGINT.
 */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@nsm-ts/sdk/core';
import { selfSignedServerCert } from '../pki/server-cert.js';
import { namespaceAnnotations, registerWebhook } from './cluster.js';
import { parseWebhookConfig, WEBHOOK_USAGE } from './config.js';
import { MUTATE_DEFAULTS } from './mutate.js';
import { startWebhook } from './server.js';

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(WEBHOOK_USAGE);
    return 0;
  }
  const { config, problems } = parseWebhookConfig(process.env);
  if (problems.length > 0) {
    process.stderr.write(
      `bad configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\n\n${WEBHOOK_USAGE}`,
    );
    return 2;
  }
  const log = createLogger('nsm-webhook', config.logLevel);
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  let certPem: string;
  let keyPem: string;
  try {
    if (config.certFile) {
      certPem = readFileSync(config.certFile, 'utf8');
      keyPem = readFileSync(config.keyFile, 'utf8');
    } else {
      const service = `${config.serviceName}.${config.namespace}.svc`;
      const cert = await selfSignedServerCert({
        dnsNames: [service, `${service}.cluster.local`],
        lifetimeMs: 10 * 365 * 86_400_000,
      });
      ({ certPem, keyPem } = cert);
      await registerWebhook(kubeConfig, config, certPem);
      log.info({ name: config.name, service }, 'MutatingWebhookConfiguration registered');
    }
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'cannot set up the webhook');
    return 1;
  }
  const running = await startWebhook({
    ...MUTATE_DEFAULTS,
    annotation: config.annotation,
    image: config.image,
    env: config.env,
    labels: config.labels,
    spireSocketDir: config.spireSocketDir,
    certPem,
    keyPem,
    host: '0.0.0.0',
    port: config.port,
    log,
    namespaceAnnotations: namespaceAnnotations(kubeConfig),
  });
  log.info({ port: running.port, annotation: config.annotation }, 'webhook serving');
  const signal = await stopped;
  log.info({ signal }, 'shutting down');
  await running.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `nsm-webhook failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
