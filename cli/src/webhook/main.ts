#!/usr/bin/env node
/**
 * The admission webhook daemon (`nsm-webhook`): serves HTTPS on NSM_PORT with the certificate files,
 * or with a self-signed certificate after registering its MutatingWebhookConfiguration itself.
 * Exits 2 on a bad configuration, 1 when it cannot serve, 0 on SIGTERM/SIGINT.
 */
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, runDaemon } from '@nsm-ts/sdk/tools';
import { selfSignedServerCert } from '../pki/server-cert.js';
import { namespaceAnnotations, registerWebhook } from './cluster.js';
import { parseWebhookConfig, WEBHOOK_USAGE } from './config.js';
import { MUTATE_DEFAULTS } from './mutate.js';
import { startWebhook } from './server.js';

await runDaemon(
  'nsm-webhook',
  WEBHOOK_USAGE,
  () => {
    const { config, problems } = parseWebhookConfig(process.env);
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
  },
  async (config, log) => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    let certPem: string;
    let keyPem: string;
    if (config.certFile) {
      certPem = readFileSync(config.certFile, 'utf8');
      keyPem = readFileSync(config.keyFile, 'utf8');
    } else {
      const service = `${config.serviceName}.${config.namespace}.svc`;
      ({ certPem, keyPem } = await selfSignedServerCert({
        dnsNames: [service, `${service}.cluster.local`],
        lifetimeMs: 10 * 365 * 86_400_000,
      }));
      await registerWebhook(kubeConfig, config, certPem);
      log.info({ name: config.name, service }, 'MutatingWebhookConfiguration registered');
    }
    const running = await startWebhook({
      ...MUTATE_DEFAULTS,
      annotation: config.annotation,
      image: config.image,
      env: config.env,
      labels: config.labels,
      spireSocketDir: config.spireSocketDir,
      issuerUrl: config.issuerUrl,
      bundleConfigMap: config.bundleConfigMap,
      certPem,
      keyPem,
      host: '0.0.0.0',
      port: config.port,
      log,
      namespaceAnnotations: namespaceAnnotations(kubeConfig),
    });
    log.info({ port: running.port, annotation: config.annotation }, 'webhook serving');
    return running;
  },
);
