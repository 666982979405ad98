/**
 * A live copy of one custom resource in one namespace, kept by client-node's informer (ListWatch):
 * list, then watch from the list's resourceVersion; a watch that ends resumes from the last
 * resourceVersion seen, a 410 Gone relists (and reports what vanished meanwhile as deleted). The
 * informer stops on any other error; the mirror starts it again with the shared backoff, resuming
 * from where it was. Records go into a WatchableStore, at most once per resourceVersion, so the
 * registry's watchers see each change once across watch restarts.
 */
import {
  CustomObjectsApi,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Clock, Logger } from '@nsm-ts/sdk/core';
import { WatchableStore, type StoreOptions } from '@nsm-ts/sdk/registry';
import { backoffDelay } from '@nsm-ts/sdk/tools';
import { GROUP, VERSION, type CustomResource, type Resource } from './resources.js';

/** What the mirror knows of one CR. */
interface Known {
  resourceVersion: string;
}

export class CrMirror<T extends { name: string }, Q> {
  readonly store: WatchableStore<T, Q>;
  private readonly known = new Map<string, Known>();
  private readonly informer: ListWatch<KubernetesObject>;
  private readonly waiters = new Set<{ name: string; rv: string; done: () => void }>();
  private failures = 0;
  private restart: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly options: {
      kubeConfig: KubeConfig;
      namespace: string;
      resource: Resource<T>;
      store: StoreOptions<T, Q>;
      log: Logger;
      clock: Clock;
    },
  ) {
    this.store = new WatchableStore(options.store);
    const api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    const { namespace, resource } = options;
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${resource.plural}`;
    this.informer = new ListWatch(
      path,
      new Watch(options.kubeConfig),
      async () =>
        (await api.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: resource.plural,
        })) as { metadata?: { resourceVersion?: string }; items: KubernetesObject[] },
      false,
    );
    this.informer.on('add', (cr) => this.upsert(cr));
    this.informer.on('update', (cr) => this.upsert(cr));
    this.informer.on('delete', (cr) => this.remove(cr));
    this.informer.on('error', (err) => this.failed(err));
  }

  private markReady: () => void = () => {};
  /** Resolves once the first list is in. */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  /** Lists and starts watching; `ready` resolves once the first list is in (retried until it is). */
  start(): Promise<void> {
    void this.run();
    return this.ready;
  }

  private async run(): Promise<void> {
    await this.informer.start();
    if (this.informer.latestResourceVersion()) this.markReady();
  }

  /** The resourceVersion of the CR named `name`, as last seen. */
  resourceVersion(name: string): string | undefined {
    return this.known.get(name)?.resourceVersion;
  }

  /**
   * Resolves once the mirror holds CR `name` at `rv`, or has seen any other change to it since (read
   * your writes: normally that change is the write itself), or after `timeoutMs`.
   */
  caughtUp(name: string, rv: string, timeoutMs = 5000): Promise<void> {
    if (this.known.get(name)?.resourceVersion === rv) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = { name, rv, done: () => {} };
      const cancel = this.options.clock.after(timeoutMs, () => waiter.done());
      waiter.done = () => {
        cancel();
        this.waiters.delete(waiter);
        resolve();
      };
      this.waiters.add(waiter);
    });
  }

  close(): void {
    this.closed = true;
    this.restart?.();
    void this.informer.stop();
    this.store.close();
    for (const w of [...this.waiters]) w.done();
  }

  private upsert(cr: KubernetesObject): void {
    this.failures = 0;
    const name = cr.metadata?.name ?? '';
    const rv = cr.metadata?.resourceVersion ?? '';
    if (this.known.get(name)?.resourceVersion === rv) return;
    let record: T;
    try {
      record = this.options.resource.fromCr(cr as CustomResource);
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message, name }, 'custom resource ignored');
      return;
    }
    this.known.set(name, { resourceVersion: rv });
    this.store.put(name, record);
    this.settle(name);
  }

  private remove(cr: KubernetesObject): void {
    const name = cr.metadata?.name ?? '';
    if (!this.known.delete(name)) return;
    this.store.delete(name);
    this.settle(name);
  }

  /** Any change to `name` answers the writers waiting for it: what they wrote, or something newer. */
  private settle(name: string): void {
    for (const w of [...this.waiters]) if (w.name === name) w.done();
  }

  private failed(err: unknown): void {
    if (this.closed) return;
    const delay = backoffDelay(++this.failures, { initialMs: 200, maxMs: 10_000 });
    this.options.log.warn(
      {
        err: err instanceof Error ? err.message : String(err),
        resource: this.options.resource.plural,
        retryInMs: delay,
      },
      'watch of custom resources failed; resuming',
    );
    this.restart = this.options.clock.after(delay, () => {
      this.restart = undefined;
      if (!this.closed) void this.run();
    });
  }
}
