#!/usr/bin/env node
/**
 * The issuer daemon (`nsm-issuer`): loads or creates the mesh CA in its Secret, publishes the trust
 * bundle in every namespace and serves X.509-SVIDs to pods over HTTPS on NSM_PORT.
 * Exits 2 on a bad configuration, 1 when it cannot start, 0 on SIGTERM/SIGINT.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { ISSUER_AUDIENCE } from '@nsm-ts/sdk/security';
import { ConfigError, runDaemon } from '@nsm-ts/sdk/tools';
import { publishBundle } from './bundle.js';
import { loadOrCreateCa } from './ca-secret.js';
import { ISSUER_USAGE, parseIssuerConfig } from './config.js';
import { tokenReviewer } from './review.js';
import { startIssuer } from './server.js';

await runDaemon(
  'nsm-issuer',
  ISSUER_USAGE,
  () => {
    const { config, problems } = parseIssuerConfig(process.env);
    if (problems.length > 0) throw new ConfigError(problems);
    return config;
  },
  async (config, log) => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromDefault();
    const ca = await loadOrCreateCa(kubeConfig, {
      namespace: config.namespace,
      name: config.caSecret,
      trustDomain: config.trustDomain,
      log,
    });
    const bundle = config.bundleConfigMap
      ? publishBundle(kubeConfig, {
          name: config.bundleConfigMap,
          bundlePem: ca.certPem,
          namespaces:
            config.allowedNamespaces.length > 0
              ? [...new Set([config.namespace, ...config.allowedNamespaces])]
              : [],
          log,
        })
      : undefined;
    const issuer = await startIssuer({
      ca,
      host: '0.0.0.0',
      port: config.port,
      dnsNames: [
        `${config.serviceName}.${config.namespace}.svc`,
        `${config.serviceName}.${config.namespace}.svc.cluster.local`,
      ],
      lifetimeMs: config.lifetimeMs,
      allowedNamespaces: config.allowedNamespaces,
      review: tokenReviewer(kubeConfig, ISSUER_AUDIENCE),
      log,
    });
    log.info({ port: issuer.port, trustDomain: ca.trustDomain, audience: ISSUER_AUDIENCE }, 'issuer serving');
    return {
      async close() {
        bundle?.close();
        await issuer.close();
      },
    };
  },
);
