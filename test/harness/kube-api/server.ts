/**
 * A Kubernetes API test server for namespaced custom resources, for the suites that run
 * `@kubernetes/client-node` without a cluster (none can be installed here). It follows the API
 * conventions strictly where a client can tell: REST paths, Status bodies with reason and code, list
 * with resourceVersion and limit/continue, watch streams (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR)
 * that resume from a resourceVersion and answer 410 Gone once it is compacted, 409 on stale updates and
 * failed delete preconditions, 422 on invalid names, label and field selectors, watch timeouts. Tests
 * inject faults through `faults`. Usage:
 * `const api = await startKubeApi({ resources: [NSE] }); const kc = api.kubeConfig(); ... await api.close()`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '@nsm-ts/sdk/core';
import { crdStores, type CrdStores } from '@nsm-ts/registry/k8s';
import {
  ApiError,
  ObjectStore,
  mergePatch,
  readJson,
  fieldMatcher,
  labelMatcher,
  apiVersionOf,
  status,
  type KubeObject,
  type ResourceDef,
} from './objects.js';
import { serveWatch, type WatchStream } from './watch.js';
import { ServiceAccountTokens, TOKEN_REVIEW_PATH } from './tokens.js';

export type { ResourceDef } from './objects.js';

/** The registry's two custom resources. */
export const CRD_RESOURCES: ResourceDef[] = [
  {
    group: 'networkservicemesh.io',
    version: 'v1',
    plural: 'networkserviceendpoints',
    kind: 'NetworkServiceEndpoint',
  },
  { group: 'networkservicemesh.io', version: 'v1', plural: 'networkservices', kind: 'NetworkService' },
];

/** A factory of the registry's CRD stores on `api` (namespace nsm-system), started, for `createMesh`. */
export function crdStoresOn(api: KubeApi): () => Promise<CrdStores> {
  return async () => {
    const stores = crdStores({
      kubeConfig: api.kubeConfig(),
      namespace: 'nsm-system',
      log: silentLogger,
      sweepMs: 200,
    });
    await stores.start();
    return stores;
  };
}

/** One request the server answered, for tests that count what a client did. */
export interface Served {
  method: string;
  path: string;
  query: string;
  code: number;
}

/** Fault injection. */
export interface Faults {
  /** Answers the next `times` requests that match with `code` (403, 409, 422, 500, 503 ...). */
  fail(code: number, times?: number, match?: { method?: string; watch?: boolean }): void;
  /** Cuts every open watch stream without a word (a dropped connection). */
  dropWatches(): void;
  /** Compacts the history and ends every open watch with an ERROR 410 Gone event. */
  expireWatches(): void;
}

/** A running API test server. */
export interface KubeApi {
  readonly url: string;
  readonly store: ObjectStore;
  readonly faults: Faults;
  /** Every answered request, oldest first. */
  readonly served: Served[];
  /** Open watch streams. */
  readonly watches: number;
  /** Service-account tokens it issued, checked by its TokenReview API. */
  readonly tokens: ServiceAccountTokens;
  /** A client-node KubeConfig for this server, with its bearer token. */
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

/** Starts the server on loopback. `bookmarkMs`: how often watches that allow bookmarks get one. */
export async function startKubeApi(options: {
  resources: ResourceDef[];
  token?: string;
  bookmarkMs?: number;
}): Promise<KubeApi> {
  const store = new ObjectStore();
  const token = options.token ?? 'test-token';
  const served: Served[] = [];
  const failures: { code: number; left: number; method?: string; watch?: boolean }[] = [];
  const watchStreams = new Set<WatchStream>();
  const tokens = new ServiceAccountTokens();
  const byPath = new Map(options.resources.map((r) => [`${r.group}/${r.version}/${r.plural}`, r]));

  /** The resource, namespace ('' for cluster-scoped ones, undefined: all) and name a path addresses. */
  const routeOf = (
    pathname: string,
  ): { def: ResourceDef; namespace: string | undefined; name: string | undefined } | undefined => {
    const base = pathname.match(/^\/(?:apis\/([^/]+)\/([^/]+)|api\/(v1))\/(.*)$/);
    if (!base) return undefined;
    const [group, version] = base[3] ? ['', base[3]] : [base[1]!, base[2]!];
    const parts = base[4]!.split('/').map(decodeURIComponent);
    const find = (plural: string | undefined) =>
      plural ? byPath.get(`${group}/${version}/${plural}`) : undefined;
    if (parts[0] === 'namespaces' && parts.length >= 3 && parts.length <= 4) {
      const def = find(parts[2]);
      if (def && !def.clusterScoped) return { def, namespace: parts[1], name: parts[3] };
    }
    if (parts.length > 2) return undefined;
    const def = find(parts[0]);
    if (!def) return undefined;
    return { def, namespace: def.clusterScoped ? '' : undefined, name: parts[1] };
  };

  const send = (res: ServerResponse, code: number, body: unknown): void => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> {
    const fail = (e: ApiError) => {
      send(res, e.code, status(e.code, e.reason, e.message));
      return e.code;
    };
    if (req.headers.authorization !== `Bearer ${token}`)
      return fail(new ApiError(401, 'Unauthorized', 'Unauthorized'));
    const q = url.searchParams;
    const isWatch = q.get('watch') === 'true' || q.get('watch') === '1';
    const injected = failures.find(
      (f) =>
        f.left > 0 &&
        (!f.method || f.method === req.method) &&
        (f.watch === undefined || f.watch === isWatch),
    );
    if (injected) {
      injected.left--;
      return fail(
        new ApiError(injected.code, REASONS[injected.code] ?? 'Unknown', `injected failure ${injected.code}`),
      );
    }
    if (url.pathname === TOKEN_REVIEW_PATH && req.method === 'POST') {
      try {
        send(res, 201, tokens.review(await readJson(req)));
        return 201;
      } catch (err) {
        if (err instanceof ApiError) return fail(err);
        throw err;
      }
    }
    const route = routeOf(url.pathname);
    if (!route)
      return fail(new ApiError(404, 'NotFound', `the server could not find the requested resource`));
    const { def, namespace, name } = route;
    try {
      if (req.method === 'GET' && name === undefined && isWatch) {
        serveWatch(
          req,
          res,
          { def, namespace, q },
          { store, streams: watchStreams, bookmarkMs: options.bookmarkMs ?? 1000 },
        );
        return 200;
      }
      if (req.method === 'GET' && name === undefined) {
        const labels = labelMatcher(q.get('labelSelector'));
        const fields = fieldMatcher(q.get('fieldSelector'));
        const all = store
          .list(def.plural, namespace)
          .filter((o) => labels(o.metadata.labels ?? {}) && fields(o));
        const from = q.get('continue') ? Number(Buffer.from(q.get('continue')!, 'base64url').toString()) : 0;
        const limit = Number(q.get('limit') ?? 0);
        const items = limit > 0 ? all.slice(from, from + limit) : all.slice(from);
        const more = limit > 0 && from + limit < all.length;
        send(res, 200, {
          apiVersion: apiVersionOf(def),
          kind: `${def.kind}List`,
          metadata: {
            resourceVersion: String(store.currentRevision),
            ...(more ? { continue: Buffer.from(String(from + limit)).toString('base64url') } : {}),
          },
          items,
        });
        return 200;
      }
      if (namespace === undefined)
        throw new ApiError(405, 'MethodNotAllowed', `${req.method} needs a namespace`);
      if (req.method === 'GET') {
        send(res, 200, store.get(def.plural, namespace, name!));
        return 200;
      }
      const body = (await readJson(req)) as KubeObject | undefined;
      if (req.method === 'POST' && name === undefined) {
        if (!body || body.kind !== def.kind || body.apiVersion !== apiVersionOf(def))
          throw new ApiError(
            400,
            'BadRequest',
            `the body must be a ${apiVersionOf(def)} ${def.kind}, not ${body?.apiVersion ?? '?'} ${body?.kind ?? '?'}`,
          );
        send(res, 201, store.create(def.plural, namespace, body));
        return 201;
      }
      if (req.method === 'PUT' && name !== undefined) {
        if (!body) throw new ApiError(400, 'BadRequest', 'the request has no body');
        send(res, 200, store.replace(def.plural, namespace, name, body));
        return 200;
      }
      if (req.method === 'PATCH' && name !== undefined) {
        if (req.headers['content-type'] !== 'application/merge-patch+json')
          throw new ApiError(
            415,
            'UnsupportedMediaType',
            `the patch type ${req.headers['content-type']} is not supported: expected application/merge-patch+json`,
          );
        const current = store.get(def.plural, namespace, name);
        const patched = mergePatch(current, body) as KubeObject;
        send(res, 200, store.replace(def.plural, namespace, name, patched));
        return 200;
      }
      if (req.method === 'DELETE' && name !== undefined) {
        const options = (body ?? {}) as { preconditions?: { resourceVersion?: string; uid?: string } };
        send(res, 200, store.delete(def.plural, namespace, name, options.preconditions ?? {}));
        return 200;
      }
      throw new ApiError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${url.pathname}`);
    } catch (err) {
      if (err instanceof ApiError) return fail(err);
      throw err;
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    handle(req, res, url).then(
      (code) => served.push({ method: req.method ?? '', path: url.pathname, query: url.search, code }),
      (err: unknown) => {
        send(res, 500, status(500, 'InternalError', String(err)));
        served.push({ method: req.method ?? '', path: url.pathname, query: url.search, code: 500 });
      },
    );
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const faults: Faults = {
    fail(code, times = 1, match = {}) {
      failures.push({ code, left: times, ...match });
    },
    dropWatches() {
      for (const w of watchStreams) w.socket.destroy();
      watchStreams.clear();
    },
    expireWatches() {
      store.compact();
      for (const w of [...watchStreams])
        w.end({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') });
    },
  };

  return {
    url,
    store,
    faults,
    served,
    tokens,
    get watches() {
      return watchStreams.size;
    },
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'test', server: url, skipTLSVerify: true }],
        users: [{ name: 'test', token }],
        contexts: [{ name: 'test', cluster: 'test', user: 'test', namespace: 'nsm-system' }],
        currentContext: 'test',
      });
      return kc;
    },
    async close() {
      for (const w of watchStreams) w.res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
