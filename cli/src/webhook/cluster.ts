/**
 * What the webhook asks of the Kubernetes API: a namespace's annotations (a Pod may be annotated
 * through its namespace), and, with a self-signed certificate, its own MutatingWebhookConfiguration,
 * created or replaced with that certificate as caBundle.
 */
import {
  AdmissionregistrationV1Api,
  ApiException,
  CoreV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import type { WebhookConfig } from './config.js';

/** The kinds the webhook mutates, by API group and resource. */
const RULES = [
  { apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] },
  {
    apiGroups: ['apps'],
    apiVersions: ['v1'],
    resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'],
  },
];

/** A namespace's annotations; a namespace the API does not show (404, 403) has none. */
export function namespaceAnnotations(
  kubeConfig: KubeConfig,
): (namespace: string) => Promise<Record<string, string>> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return async (name) => {
    try {
      return (await core.readNamespace({ name })).metadata?.annotations ?? {};
    } catch (err) {
      if (err instanceof ApiException && (err.code === 404 || err.code === 403)) return {};
      throw err;
    }
  };
}

/** The MutatingWebhookConfiguration for `config`, trusting `caPem`. */
export function webhookConfiguration(config: WebhookConfig, caPem: string): V1MutatingWebhookConfiguration {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: config.name, labels: { 'app.kubernetes.io/part-of': 'nsm-ts' } },
    webhooks: [
      {
        name: `${config.name}.networkservicemesh.io`,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        clientConfig: {
          service: { name: config.serviceName, namespace: config.namespace, path: '/mutate', port: 443 },
          caBundle: Buffer.from(caPem).toString('base64'),
        },
        // The mesh's own namespace and the system's are never mutated.
        namespaceSelector: {
          matchExpressions: [
            {
              key: 'kubernetes.io/metadata.name',
              operator: 'NotIn',
              values: [config.namespace, 'kube-system'],
            },
          ],
        },
        rules: RULES.map((r) => ({ ...r, operations: ['CREATE'], scope: '*' })),
      },
    ],
  };
}

/** Creates or replaces the webhook's MutatingWebhookConfiguration. */
export async function registerWebhook(
  kubeConfig: KubeConfig,
  config: WebhookConfig,
  caPem: string,
): Promise<void> {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const body = webhookConfiguration(config, caPem);
  try {
    await api.createMutatingWebhookConfiguration({ body });
    return;
  } catch (err) {
    if (!(err instanceof ApiException) || err.code !== 409) throw registrationError(config, err);
  }
  try {
    const current = await api.readMutatingWebhookConfiguration({ name: config.name });
    await api.replaceMutatingWebhookConfiguration({
      name: config.name,
      body: {
        ...body,
        metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion ?? '' },
      },
    });
  } catch (err) {
    throw registrationError(config, err);
  }
}

function registrationError(config: WebhookConfig, err: unknown): Error {
  const said = err instanceof ApiException ? `${err.code} ${String(err.body)}` : (err as Error).message;
  return new Error(
    `cannot register MutatingWebhookConfiguration ${config.name}: the Kubernetes API answered ${said}; ` +
      'the webhook needs create, get and update on mutatingwebhookconfigurations (or give it certificate files)',
    { cause: err },
  );
}
