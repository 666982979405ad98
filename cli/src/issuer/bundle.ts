/**
 * The trust bundle in every namespace: a ConfigMap (`bundle.pem`) that pods mount to trust the issuer
 * and the mesh, as Kubernetes itself publishes `kube-root-ca.crt`. Namespaces are followed with
 * client-node's informer: a new namespace gets the ConfigMap at once, and a periodic pass puts back one
 * that was deleted or changed. Replicas write the same content; a 409 is a replica's write, re-checked.
 */
import {
  ApiException,
  CoreV1Api,
  ListWatch,
  Watch,
  type KubeConfig,
  type V1Namespace,
} from '@kubernetes/client-node';
import type { Logger } from '@nsm-ts/sdk/core';
import { backoffDelay } from '@nsm-ts/sdk/tools';
import { apiProblem } from './ca-secret.js';

/** The key of the bundle in the ConfigMap. */
export const BUNDLE_KEY = 'bundle.pem';

/** Options for `publishBundle`. */
export interface PublishOptions {
  /** The ConfigMap's name. */
  name: string;
  bundlePem: string;
  /** Only these namespaces (empty: all). */
  namespaces: string[];
  /** How often every namespace is checked again (default 5 min). */
  resyncMs?: number;
  log: Logger;
}

/** Keeps the ConfigMap in every namespace until `close()`. Usage: `const p = publishBundle(kc, options); await p.ready`. */
export function publishBundle(
  kubeConfig: KubeConfig,
  options: PublishOptions,
): { ready: Promise<void>; close(): void } {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const { name, bundlePem, log } = options;
  const wanted = (ns: string): boolean => options.namespaces.length === 0 || options.namespaces.includes(ns);
  const known = new Set<string>();
  const retries = new Map<string, NodeJS.Timeout>();
  let closed = false;
  let failures = 0;
  let restart: NodeJS.Timeout | undefined;

  const ensure = async (namespace: string, attempt = 1): Promise<void> => {
    if (closed || !known.has(namespace)) return;
    try {
      await put(namespace);
    } catch (err) {
      if (closed) return;
      const delay = backoffDelay(attempt, { initialMs: 500, maxMs: 30_000 });
      log.warn(
        {
          namespace,
          err: apiProblem(
            err,
            `cannot publish ConfigMap ${namespace}/${name}`,
            `get, create and update on configmaps (${name})`,
          ).message,
          retryInMs: delay,
        },
        'trust bundle not published; retrying',
      );
      clearTimeout(retries.get(namespace));
      const timer = setTimeout(() => void ensure(namespace, attempt + 1), delay);
      timer.unref();
      retries.set(namespace, timer);
    }
  };

  const put = async (namespace: string): Promise<void> => {
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'nsm-ts' } },
      data: { [BUNDLE_KEY]: bundlePem },
    };
    for (let i = 0; i < 3; i++) {
      let current;
      try {
        current = await core.readNamespacedConfigMap({ name, namespace });
      } catch (err) {
        if (!(err instanceof ApiException) || err.code !== 404) throw err;
      }
      try {
        if (!current) {
          await core.createNamespacedConfigMap({ namespace, body });
          log.info({ namespace, configMap: name }, 'trust bundle published');
        } else if (current.data?.[BUNDLE_KEY] !== bundlePem) {
          await core.replaceNamespacedConfigMap({
            name,
            namespace,
            body: {
              ...body,
              metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion ?? '' },
            },
          });
          log.info({ namespace, configMap: name }, 'trust bundle updated');
        }
        return;
      } catch (err) {
        if (!(err instanceof ApiException) || err.code !== 409) throw err;
      }
    }
    throw new Error(`ConfigMap ${namespace}/${name} kept changing under three writes in a row`);
  };

  const informer = new ListWatch<V1Namespace>(
    '/api/v1/namespaces',
    new Watch(kubeConfig),
    () => core.listNamespace(),
    false,
  );
  const seen = (ns: V1Namespace): void => {
    failures = 0;
    const namespace = ns.metadata?.name ?? '';
    if (!wanted(namespace) || known.has(namespace) || ns.status?.phase === 'Terminating') return;
    known.add(namespace);
    void ensure(namespace);
  };
  informer.on('add', seen);
  informer.on('update', seen);
  informer.on('delete', (ns) => {
    const namespace = ns.metadata?.name ?? '';
    known.delete(namespace);
    clearTimeout(retries.get(namespace));
    retries.delete(namespace);
  });
  let markReady = (): void => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const run = async (): Promise<void> => {
    await informer.start();
    if (informer.latestResourceVersion()) markReady();
  };
  informer.on('error', (err: unknown) => {
    if (closed) return;
    const delay = backoffDelay(++failures, { initialMs: 200, maxMs: 10_000 });
    log.warn(
      { err: err instanceof Error ? err.message : String(err), retryInMs: delay },
      'watch of namespaces failed; resuming',
    );
    restart = setTimeout(() => void run(), delay);
    restart.unref();
  });
  const resync = setInterval(() => {
    for (const namespace of known) void ensure(namespace);
  }, options.resyncMs ?? 300_000);
  resync.unref();
  void run();
  return {
    ready,
    close() {
      closed = true;
      clearInterval(resync);
      clearTimeout(restart);
      for (const t of retries.values()) clearTimeout(t);
      void informer.stop();
    },
  };
}
