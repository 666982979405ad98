/**
 * Writes to the custom resources: create-or-replace on register (a stale replace, 409, is read again
 * and retried), delete with a resourceVersion precondition, retries with the shared backoff on 429
 * and 5xx, and every refusal turned into an error that names the resource, what the API said and what
 * to do. The only writes the CRD store makes.
 */
import { ApiException, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { Code, NsmError } from '@nsm-ts/sdk/core';
import { backoffDelay } from '@nsm-ts/sdk/tools';
import { GROUP, VERSION, type CustomResource, type Resource } from './resources.js';

const ATTEMPTS = 5;

/** The API's own message from an ApiException body (a Status), or the exception's. */
function apiMessage(err: ApiException<unknown>): string {
  const body = err.body;
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
    if (status?.message) return status.message;
  } catch {
    // not a Status body
  }
  return err.message;
}

function codeOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

function retryable(code: number | undefined): boolean {
  return code === undefined || code === 429 || code >= 500;
}

/** A failed API call, with the HTTP status the API answered (undefined: no answer). */
export class KubeApiError extends NsmError {
  constructor(
    code: Code,
    message: string,
    readonly status: number | undefined,
  ) {
    super(code, message);
  }
}

const statusOf = (err: unknown): number | undefined => (err instanceof KubeApiError ? err.status : undefined);

/** A clear error for a failed API call. */
function apiError(
  action: string,
  plural: string,
  name: string,
  namespace: string,
  err: unknown,
): KubeApiError {
  const code = codeOf(err);
  const said = err instanceof ApiException ? `${code} ${apiMessage(err)}` : (err as Error).message;
  const what = `cannot ${action} ${plural} "${name}" in namespace ${namespace}: the Kubernetes API answered ${said}`;
  if (code === 401 || code === 403)
    return new KubeApiError(
      Code.UNAVAILABLE,
      `${what}; the registry's service account needs get, list, watch, create, update and delete on ${plural}.${GROUP}`,
      code,
    );
  if (code === 422 || code === 400) return new KubeApiError(Code.INVALID_ARGUMENT, what, code);
  return new KubeApiError(Code.UNAVAILABLE, what, code);
}

/** Create, replace and delete of one resource's CRs in one namespace. */
export class CrWriter<T extends { name: string }> {
  private readonly api: CustomObjectsApi;

  constructor(
    kubeConfig: KubeConfig,
    private readonly namespace: string,
    private readonly resource: Resource<T>,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  private where() {
    return { group: GROUP, version: VERSION, namespace: this.namespace, plural: this.resource.plural };
  }

  private named(name: string) {
    return { ...this.where(), name };
  }

  /** Runs `call`, retrying what may pass on another try; the last error is reported clearly. */
  private async retried<R>(action: string, name: string, call: () => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (!retryable(codeOf(err)) || attempt >= ATTEMPTS)
          throw apiError(action, this.resource.plural, name, this.namespace, err);
        await this.sleep(backoffDelay(attempt, { initialMs: 100, maxMs: 2000 }));
      }
    }
  }

  /** Creates the CR of `record`, or replaces the existing one; resolves with the stored CR. */
  async put(record: T): Promise<CustomResource> {
    const body = (resourceVersion?: string): CustomResource => ({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: this.resource.kind,
      metadata: {
        name: record.name,
        namespace: this.namespace,
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      spec: this.resource.spec(record),
    });
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.retried('create', record.name, () =>
          this.api.createNamespacedCustomObject({ ...this.where(), body: body() }),
        )) as CustomResource;
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
      }
      // It exists: replace it, on the version just read (a 409 here means someone wrote in between).
      const current = (await this.retried('read', record.name, () =>
        this.api.getNamespacedCustomObject(this.named(record.name)),
      )) as CustomResource;
      try {
        return (await this.retried('update', record.name, () =>
          this.api.replaceNamespacedCustomObject({
            ...this.named(record.name),
            body: body(current.metadata?.resourceVersion),
          }),
        )) as CustomResource;
      } catch (err) {
        if (statusOf(err) !== 409 || attempt >= ATTEMPTS) throw err;
      }
    }
  }

  /** Reads the CR named `name`, or undefined when there is none. */
  async get(name: string): Promise<CustomResource | undefined> {
    try {
      return (await this.retried('read', name, () =>
        this.api.getNamespacedCustomObject(this.named(name)),
      )) as CustomResource;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /**
   * Deletes the CR named `name` if it is still at `resourceVersion`. Resolves false when it was gone
   * already or has changed since (another replica refreshed it), true when this call deleted it.
   */
  async delete(name: string, resourceVersion: string): Promise<boolean> {
    try {
      await this.retried('delete', name, () =>
        this.api.deleteNamespacedCustomObject({
          ...this.named(name),
          body: { preconditions: { resourceVersion } },
        }),
      );
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || status === 409) return false;
      throw err;
    }
  }
}
