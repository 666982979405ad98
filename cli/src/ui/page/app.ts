/**
 * The page: follows `/events` (server-sent events carrying the JSON of `nsm status --json`), draws
 * each new snapshot, and shows the details of what is clicked. `body[data-conn]` says whether it is
 * live (`live`), the lab is not running (`down`) or the server does not answer (`offline`);
 * `body[data-seq]` and `body[data-updated]` (ms since the epoch) say which snapshot is drawn, and when.
 */
import { showDetails, type Selection } from './details.js';
import { layout } from './layout.js';
import { buildView, type PageLink, type PageStatus, type View } from './model.js';
import { build, structureKey, update, type RateMemory } from './render.js';

const stage = document.getElementById('stage')!;
const panel = document.getElementById('details')!;
const banner = document.getElementById('banner')!;
const conn = document.getElementById('conn')!;
const updated = document.getElementById('updated')!;
const labName = document.getElementById('lab')!;
const globals = document.getElementById('globals')!;

const memory = new Map<string, PageLink>();
const rates: RateMemory = new Map();
let status: PageStatus | undefined;
let view: View | undefined;
let key = '';
let selection: Selection;

function setConn(state: 'live' | 'down' | 'offline' | 'connecting', text: string, problem?: string): void {
  document.body.dataset['conn'] = state;
  conn.textContent = text;
  banner.hidden = problem === undefined;
  banner.textContent = problem ?? '';
}

function showGlobals(s: PageStatus): void {
  const items: [string, string, string][] = [
    ['supervisor', s.supervisor.running ? 'running' : 'failed', s.supervisor.error ?? 'the lab supervisor'],
    ...s.components
      .filter((c) => !c.node)
      .map((c): [string, string, string] => [
        c.name,
        c.state,
        `${c.kind}, pid ${c.pid ?? '—'}, ${c.restarts} restarts`,
      ]),
  ];
  if (s.registryError) items.push(['registry records', 'failed', s.registryError]);
  globals.replaceChildren(
    ...items.map(([name, state, title]) => {
      const e = document.createElement('span');
      e.className = 'component';
      e.dataset['component'] = name;
      e.dataset['state'] = state;
      e.title = title;
      e.textContent = name;
      return e;
    }),
  );
}

function draw(next: PageStatus, seq: string): void {
  status = next;
  view = buildView(next, memory);
  const shapes = layout(view);
  const nextKey = structureKey(view, shapes);
  if (nextKey !== key) {
    build(stage, view, shapes);
    key = nextKey;
  }
  const now = Date.now();
  update(stage, view, new Map(next.components.map((c) => [c.name, c.state])), rates, now);
  for (const e of stage.querySelectorAll('.selected')) e.classList.remove('selected');
  const sel =
    selection?.kind === 'pod'
      ? `[data-pod="${CSS.escape(selection.name)}"]`
      : selection?.kind === 'link'
        ? `[data-link="${CSS.escape(selection.key)}"]`
        : undefined;
  if (sel) stage.querySelector(sel)?.classList.add('selected');
  showDetails(panel, next, view, selection);
  labName.textContent = next.lab;
  document.title = `nsm ui: ${next.lab}`;
  showGlobals(next);
  document.body.dataset['seq'] = seq;
  document.body.dataset['updated'] = String(now);
  updated.textContent = `updated ${new Date(now).toLocaleTimeString()}`;
}

function select(next: Selection): void {
  selection = next;
  if (status) draw(status, document.body.dataset['seq'] ?? '');
}

stage.addEventListener('click', (e) => {
  const target = e.target as Element;
  const pod = target.closest<HTMLElement>('[data-pod]');
  const link = target.closest<SVGElement>('[data-link]');
  if (pod) select({ kind: 'pod', name: pod.dataset['pod']! });
  else if (link) select({ kind: 'link', key: link.dataset['link']! });
  else select(undefined);
});
stage.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ')
    (e.target as HTMLElement).dispatchEvent(new MouseEvent('click', { bubbles: true }));
});
document.getElementById('close')!.addEventListener('click', () => select(undefined));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') select(undefined);
});

const events = new EventSource('/events');
events.addEventListener('open', () => {
  if (document.body.dataset['conn'] === 'offline') setConn('connecting', 'connected, waiting for the lab');
});
events.addEventListener('status', (e: MessageEvent<string>) => {
  setConn('live', 'live');
  draw(JSON.parse(e.data) as PageStatus, e.lastEventId);
});
events.addEventListener('down', (e: MessageEvent<string>) => {
  const body = JSON.parse(e.data) as { lab: string; error: string };
  labName.textContent = body.lab;
  setConn(
    'down',
    'lab not running',
    `lab not running: ${body.error}. The page follows it again when it is back.`,
  );
});
events.addEventListener('heartbeat', () => {
  if (document.body.dataset['conn'] === 'live')
    conn.textContent = `live (heartbeat ${new Date().toLocaleTimeString()})`;
});
events.addEventListener('error', () => {
  setConn('offline', 'offline', 'the nsm ui server does not answer; retrying every second');
});
