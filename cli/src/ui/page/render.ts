/**
 * Draws a view into the stage: node columns and pod boxes as HTML, links as SVG beneath the pods.
 * The structure is rebuilt only when the layout changes; states, addresses and counters are
 * updated in place, so an open page keeps its hover and selection while counters tick.
 * Test hooks: `data-node`, `data-pod` (+ `data-state`, `data-role`, `data-node`), `data-iface`
 * (+ `data-rx-bytes` ...), `data-link` (+ `data-state` up|down|pending, `data-held`, `data-endpoint`, `data-chain`).
 */
import { formatBytes, type PageInterface, type View, type ViewLink } from './model.js';
import type { Layout } from './layout.js';

const SVG = 'http://www.w3.org/2000/svg';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(tag: string, attrs: Record<string, string> = {}, text?: string): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const place = (e: HTMLElement, b: { x: number; y: number; w: number; h: number }): void => {
  e.style.left = `${b.x}px`;
  e.style.top = `${b.y}px`;
  e.style.width = `${b.w}px`;
  e.style.height = `${b.h}px`;
};

/** What identifies a layout: when it is the same, only values change. */
export function structureKey(view: View, layout: Layout): string {
  return JSON.stringify({
    nodes: view.nodes.map((n) => [
      n.name,
      n.components.map((c) => c.name),
      n.pods.map((p) => [p.pod.name, p.ifaces]),
    ]),
    links: [...layout.links.entries()].map(([k, s]) => [k, s.d]),
  });
}

/** The short label of a link: its labels' values (app=s6a → s6a), else its service. */
export function linkLabel(link: ViewLink): string {
  const labels = Object.values(link.link?.labels ?? {});
  return labels.length > 0 ? labels.join(',') : link.service;
}

/** Builds the stage's content for `view` laid out as `layout`. */
export function build(stage: HTMLElement, view: View, layout: Layout): void {
  stage.replaceChildren();
  stage.style.width = `${layout.width}px`;
  stage.style.height = `${layout.height}px`;
  for (const node of view.nodes) {
    const box = layout.nodes.get(node.name)!;
    const col = el('section', { class: 'node', 'data-node': node.name });
    place(col, box);
    const head = el('header');
    head.append(el('h2', {}, node.name), el('span', { class: 'tunnel' }, node.tunnelIp));
    const comps = el('div', { class: 'components' });
    for (const c of node.components)
      comps.append(el('span', { class: 'component', 'data-component': c.name, title: c.name }, c.kind));
    head.append(comps);
    col.append(head);
    stage.append(col);
  }
  const links = svg('svg', {
    class: 'links',
    width: String(layout.width),
    height: String(layout.height),
    viewBox: `0 0 ${layout.width} ${layout.height}`,
  });
  for (const link of view.links) {
    const shape = layout.links.get(link.key);
    if (!shape) continue;
    const g = svg('g', {
      'data-link': link.key,
      'data-service': link.service,
      'data-endpoint': link.link?.endpoint ?? '',
      'data-chain': (link.link?.chain ?? []).join(','),
      'data-to-port': String(shape.toPort),
      tabindex: '0',
      role: 'button',
    });
    g.append(
      svg('path', { class: 'hit', d: shape.d }),
      svg('path', { class: 'wire', d: shape.d }),
      ...shape.dots.map((p) => svg('circle', { class: 'dot', cx: String(p.x), cy: String(p.y), r: '4' })),
      svg('text', { class: 'label', x: String(shape.label.x), y: String(shape.label.y) }, linkLabel(link)),
      svg('title', {}, `${link.key} → ${(link.link?.chain ?? []).join(' → ') || link.service}`),
    );
    links.append(g);
  }
  stage.append(links);
  for (const node of view.nodes)
    for (const { pod, ifaces } of node.pods) {
      const box = el('div', {
        class: 'pod',
        'data-pod': pod.name,
        'data-node': pod.node,
        'data-role': pod.role,
        tabindex: '0',
        role: 'button',
      });
      place(box, layout.pods.get(pod.name)!);
      const head = el('header');
      head.append(
        el('span', { class: 'name' }, pod.name),
        el('span', { class: 'role' }, pod.role),
        el('span', { class: 'state' }),
      );
      box.append(head);
      for (const name of ifaces) {
        const row = el('div', { class: 'iface', 'data-iface': `${pod.name}/${name}` });
        const r = layout.rows.get(`${pod.name}/${name}`)!;
        row.style.height = `${r.h}px`;
        const line1 = el('div', { class: 'line' });
        line1.append(el('span', { class: 'ifname' }, name), el('span', { class: 'addrs' }));
        row.append(line1, el('div', { class: 'line counters' }));
        box.append(row);
      }
      stage.append(box);
    }
}

/** Per interface: the counters and time of the previous update, for rates. */
export type RateMemory = Map<string, { at: number; rx: number; tx: number }>;

const rate = (bytes: number, ms: number): string =>
  ms > 0 ? `${formatBytes(Math.round((bytes * 1000) / ms))}/s` : '';

/** Sets states, addresses and counters from `view` into a stage built for it. */
export function update(
  stage: HTMLElement,
  view: View,
  components: Map<string, string>,
  rates: RateMemory,
  now: number,
): void {
  for (const c of stage.querySelectorAll<HTMLElement>('[data-component]'))
    c.dataset['state'] = components.get(c.dataset['component'] ?? '') ?? 'unknown';
  for (const node of view.nodes)
    for (const { pod, ifaces } of node.pods) {
      const box = stage.querySelector<HTMLElement>(`[data-pod="${CSS.escape(pod.name)}"]`);
      if (!box) continue;
      box.dataset['state'] = pod.state;
      box.querySelector('.state')!.textContent = pod.state;
      const byName = new Map((pod.interfaces ?? []).map((i) => [i.name, i]));
      for (const name of ifaces) {
        const key = `${pod.name}/${name}`;
        const row = box.querySelector<HTMLElement>(`[data-iface="${CSS.escape(key)}"]`);
        if (row) updateRow(row, key, byName.get(name), rates, now);
      }
    }
  for (const link of view.links) {
    const g = stage.querySelector<SVGElement>(`[data-link="${CSS.escape(link.key)}"]`);
    if (!g) continue;
    g.dataset['state'] = link.state;
    g.dataset['held'] = String(link.held);
  }
}

function updateRow(
  row: HTMLElement,
  key: string,
  iface: PageInterface | undefined,
  rates: RateMemory,
  now: number,
): void {
  const addrs = row.querySelector('.addrs')!;
  const counters = row.querySelector('.counters')!;
  if (!iface) {
    row.dataset['present'] = 'false';
    addrs.textContent = '';
    counters.textContent = 'not in the namespace';
    rates.delete(key);
    return;
  }
  row.dataset['present'] = 'true';
  const c = iface.counters;
  row.dataset['rxBytes'] = String(c.rxBytes);
  row.dataset['txBytes'] = String(c.txBytes);
  row.dataset['rxPackets'] = String(c.rxPackets);
  row.dataset['txPackets'] = String(c.txPackets);
  row.dataset['up'] = String(iface.up);
  addrs.textContent = iface.addresses.join(' ');
  row.title = `${key}${iface.kind ? ` (${iface.kind})` : ''}${iface.mac ? ` ${iface.mac}` : ''} mtu ${iface.mtu}`;
  const prev = rates.get(key);
  rates.set(key, { at: now, rx: c.rxBytes, tx: c.txBytes });
  const rx = prev && c.rxBytes >= prev.rx ? ` ${rate(c.rxBytes - prev.rx, now - prev.at)}` : '';
  const tx = prev && c.txBytes >= prev.tx ? ` ${rate(c.txBytes - prev.tx, now - prev.at)}` : '';
  counters.textContent = `↓ ${formatBytes(c.rxBytes)} (${c.rxPackets})${rx}  ↑ ${formatBytes(c.txBytes)} (${c.txPackets})${tx}`;
  counters.setAttribute('title', 'received ↓ and sent ↑: bytes (packets) and the rate since the last update');
}
