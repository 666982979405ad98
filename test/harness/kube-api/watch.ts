/**
 * Watch streams of the Kubernetes API test server: from a resourceVersion (replaying the history
 * after it, or 410 Gone as an ERROR event once it is compacted) or from now (every current object as
 * ADDED first), filtered by the label and field selectors, with BOOKMARK events when allowed and the
 * stream closed after `timeoutSeconds`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import {
  fieldMatcher,
  labelMatcher,
  apiVersionOf,
  status,
  type ApiError,
  type Change,
  type KubeObject,
  type ObjectStore,
  type ResourceDef,
} from './objects.js';

/** An open watch stream: `end` closes it, after one last event if given. */
export interface WatchStream {
  res: ServerResponse;
  socket: Socket;
  end: (last?: object) => void;
}

/** Serves one watch request of resource `def`. */
export function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  where: { def: ResourceDef; namespace: string | undefined; q: URLSearchParams },
  server: { store: ObjectStore; streams: Set<WatchStream>; bookmarkMs: number },
): void {
  const { def, namespace, q } = where;
  const { store, streams: watchStreams } = server;
  const labels = labelMatcher(q.get('labelSelector'));
  const fields = fieldMatcher(q.get('fieldSelector'));
  const selected = (o: KubeObject) =>
    (namespace === undefined || o.metadata.namespace === namespace) &&
    labels(o.metadata.labels ?? {}) &&
    fields(o);
  const rv = q.get('resourceVersion') ?? '';
  if (!/^\d*$/.test(rv)) {
    const body = status(
      400,
      'BadRequest',
      `resourceVersion "${rv}" is not a resourceVersion this server issued`,
    );
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  const write = (event: object) => res.write(`${JSON.stringify(event)}\n`);
  const timers: NodeJS.Timeout[] = [];
  const entry: WatchStream = {
    res,
    socket: req.socket,
    end: (last?: object) => {
      if (last) write(last);
      res.end();
    },
  };
  let unsubscribe = () => {};
  const finish = () => {
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    watchStreams.delete(entry);
  };
  res.on('close', finish);
  let initial: Change[];
  try {
    initial =
      rv === '' || rv === '0'
        ? store.list(def.plural, namespace).map((object) => ({ type: 'ADDED' as const, object, revision: 0 }))
        : store.since(def.plural, Number(rv));
  } catch (err) {
    const e = err as ApiError;
    write({ type: 'ERROR', object: status(e.code, e.reason, e.message) });
    res.end();
    return;
  }
  watchStreams.add(entry);
  for (const c of initial) if (selected(c.object)) write({ type: c.type, object: c.object });
  unsubscribe = store.subscribe((plural, c) => {
    if (plural === def.plural && selected(c.object)) write({ type: c.type, object: c.object });
  });
  const timeout = Number(q.get('timeoutSeconds') ?? 0);
  if (timeout > 0) timers.push(setTimeout(() => res.end(), timeout * 1000));
  if (q.get('allowWatchBookmarks') === 'true') {
    const every = server.bookmarkMs;
    const tick = () => {
      write({
        type: 'BOOKMARK',
        object: {
          kind: def.kind,
          apiVersion: apiVersionOf(def),
          metadata: { resourceVersion: String(store.currentRevision) },
        },
      });
      timers.push(setTimeout(tick, every));
    };
    timers.push(setTimeout(tick, every));
  }
}
