/** The details panel: everything the status says about the pod or link that was clicked. */
import { formatBytes, type PageStatus, type View } from './model.js';

/** What is selected: a pod by name or a link by `<client>/<ifname>`. */
export type Selection = { kind: 'pod'; name: string } | { kind: 'link'; key: string } | undefined;

type Row = [string, string];

function list(rows: Row[]): HTMLDListElement {
  const dl = document.createElement('dl');
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v || '—';
    dd.dataset['field'] = k;
    dl.append(dt, dd);
  }
  return dl;
}

function heading(text: string, kind: string): HTMLHeadingElement {
  const h = document.createElement('h2');
  h.textContent = text;
  h.dataset['kind'] = kind;
  return h;
}

function podDetails(status: PageStatus, name: string): HTMLElement[] | undefined {
  const pod = status.pods.find((p) => p.name === name);
  if (!pod) return undefined;
  const exit = pod.lastExit
    ? `${pod.lastExit.signal ? `killed by ${pod.lastExit.signal}` : `exit ${pod.lastExit.code ?? '?'}`} at ${pod.lastExit.at}`
    : '';
  const parts: HTMLElement[] = [
    heading(pod.name, 'pod'),
    list([
      ['node', pod.node],
      ['role', pod.role],
      ['state', pod.state],
      ['pid', pod.pid === undefined ? '' : String(pod.pid)],
      ['restarts', String(pod.restarts)],
      ['last exit', exit],
      ['netns', pod.netns],
      ['metrics', pod.metrics?.url ?? ''],
      [
        'waiting for',
        pod.pending.map((p) => `${p.service}${p.ifname ? `/${p.ifname}` : ''}: ${p.reason}`).join('; '),
      ],
      ['requests', (pod.requests ?? []).map((r) => `${r.ifname} → ${r.service}`).join(', ')],
    ]),
  ];
  const h3 = document.createElement('h3');
  h3.textContent = 'interfaces';
  parts.push(h3);
  for (const i of pod.interfaces ?? []) {
    const c = i.counters;
    parts.push(
      list([
        ['interface', `${i.name}${i.kind ? ` (${i.kind})` : ''}${i.up ? '' : ' down'}`],
        ['addresses', i.addresses.join(', ')],
        ['mac', i.mac ?? ''],
        ['mtu', String(i.mtu)],
        ['rx', `${formatBytes(c.rxBytes)}, ${c.rxPackets} packets, ${c.rxDropped} dropped`],
        ['tx', `${formatBytes(c.txBytes)}, ${c.txPackets} packets, ${c.txDropped} dropped`],
      ]),
    );
  }
  return parts;
}

function linkDetails(view: View, key: string): HTMLElement[] | undefined {
  const link = view.links.find((l) => l.key === key);
  if (!link) return undefined;
  const c = link.link;
  return [
    heading(link.key, 'link'),
    list([
      ['state', `${link.state} (${link.reason})`],
      ['held', link.held ? 'yes: the client holds it now' : 'no: the last connection seen is shown'],
      ['service', link.service],
      ['client', `${link.client}/${link.ifname}${c ? ` on ${c.clientNode}` : ''}`],
      ['client addresses', c?.clientIps.join(', ') ?? ''],
      [
        'endpoint',
        c ? `${c.endpoint}${c.endpointInterface ? `/${c.endpointInterface}` : ''} on ${c.endpointNode}` : '',
      ],
      ['endpoint addresses', c?.endpointIps.join(', ') ?? ''],
      ['chain', c?.chain.join(' → ') ?? ''],
      ['mechanism', c?.mechanism ?? ''],
      ['locality', c ? `${c.locality} (${c.nodes.join(', ')})` : ''],
      [
        'labels',
        c
          ? Object.entries(c.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ')
          : '',
      ],
      ['path length', c ? String(c.pathLength) : ''],
      ['connection id', c?.id ?? ''],
    ]),
  ];
}

/** Fills `panel` for `selection`; hides it when nothing (or something gone) is selected. */
export function showDetails(panel: HTMLElement, status: PageStatus, view: View, selection: Selection): void {
  const parts =
    selection?.kind === 'pod'
      ? podDetails(status, selection.name)
      : selection?.kind === 'link'
        ? linkDetails(view, selection.key)
        : undefined;
  const body = panel.querySelector<HTMLElement>('.body')!;
  if (!parts || !selection) {
    panel.hidden = true;
    delete panel.dataset['details'];
    body.replaceChildren();
    return;
  }
  panel.hidden = false;
  panel.dataset['details'] = selection.kind === 'pod' ? `pod:${selection.name}` : `link:${selection.key}`;
  body.replaceChildren(...parts);
}
