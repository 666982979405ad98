/** The page's model and layout (pure: no DOM), from status JSON shaped as `nsm status --json` prints it. */
import { describe, expect, it } from 'vitest';
import type { LabStatus } from '../lab/inspect.js';
import { layout, type Box } from './page/layout.js';
import { buildView, byName, formatBytes, linkState, type PageLink, type PageStatus } from './page/model.js';

// The page reads the lab's own type: this line stops compiling if the two drift apart.
const _fits = (s: LabStatus): PageStatus => s;
void _fits;

const counters = { rxBytes: 1, txBytes: 2, rxPackets: 1, txPackets: 1, rxDropped: 0, txDropped: 0 };
const iface = (name: string) => ({ name, mtu: 1450, up: true, addresses: [], counters });
const pod = (name: string, node: string, role: string, extra: Partial<PageStatus['pods'][number]> = {}) => ({
  name,
  node,
  role,
  netns: `/run/netns/nsm-t-${name}`,
  state: 'running',
  restarts: 0,
  pending: [],
  ...extra,
});
const link = (
  client: string,
  ifname: string,
  chain: string[],
  endpointInterface: string,
  state = 'UP',
): PageLink => ({
  id: `${client}-${ifname}`,
  client,
  clientNode: 'node-1',
  clientInterface: ifname,
  clientIps: ['10.0.0.2/32'],
  endpoint: chain.at(-1)!,
  endpointNode: 'node-2',
  endpointInterface,
  endpointIps: ['10.0.0.1/32'],
  chain,
  nodes: ['node-1', 'node-2'],
  service: 'svc',
  labels: { app: ifname },
  mechanism: 'KERNEL',
  locality: 'remote',
  state,
  pathLength: 5,
});

function status(over: Partial<PageStatus> = {}): PageStatus {
  return {
    lab: 't',
    supervisor: { running: true },
    components: [],
    nodes: [
      { name: 'node-10', netns: '', tunnelIp: '198.18.0.20' },
      { name: 'node-2', netns: '', tunnelIp: '198.18.0.12' },
      { name: 'node-1', netns: '', tunnelIp: '198.18.0.11' },
    ],
    pods: [
      pod('vpn', 'node-2', 'endpoint', { interfaces: [iface('svc-a')] }),
      pod('fw', 'node-1', 'passthrough', { interfaces: [iface('br-1'), iface('svc-b')] }),
      pod('c', 'node-1', 'client', {
        requests: [
          { service: 'svc', ifname: 'nsm-1' },
          { service: 'svc', ifname: 'nsm-2' },
        ],
        interfaces: [iface('nsm-1')],
      }),
      pod('d', 'node-10', 'client', { requests: [{ service: 'svc', ifname: 'nsm-0' }] }),
    ],
    endpoints: [],
    links: [link('c', 'nsm-1', ['fw', 'vpn'], 'svc-a'), link('d', 'nsm-0', ['vpn'], 'svc-a', 'HEALING')],
    ...over,
  };
}

describe('the page model', () => {
  it('orders nodes by number and pods by role then name', () => {
    const view = buildView(status());
    expect(view.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2', 'node-10']);
    expect(view.nodes[0]!.pods.map((p) => p.pod.name)).toEqual(['c', 'fw']);
    expect(['node-10', 'node-9', 'node-1'].sort(byName)).toEqual(['node-1', 'node-9', 'node-10']);
  });

  it('draws one link per request: held ones by their state, the others by their pod', () => {
    const view = buildView(status());
    expect(view.links.map((l) => [l.key, l.state, l.held])).toEqual([
      ['c/nsm-1', 'up', true],
      ['c/nsm-2', 'pending', false],
      ['d/nsm-0', 'pending', true],
    ]);
    expect(linkState('UP')).toBe('up');
    expect(linkState('HEALING')).toBe('pending');
    expect(linkState('DOWN (the manager does not know it)')).toBe('down');
  });

  it("keeps a stopped client's links, red, to where they led", () => {
    const memory = new Map<string, PageLink>();
    buildView(status(), memory);
    const stopped = status({
      pods: status().pods.map((p) => (p.name === 'c' ? { ...p, state: 'stopped', interfaces: [] } : p)),
      links: status().links.filter((l) => l.client !== 'c'),
    });
    const view = buildView(stopped, memory);
    const c1 = view.links.find((l) => l.key === 'c/nsm-1')!;
    expect(c1).toMatchObject({ state: 'down', held: false, reason: 'c is stopped' });
    expect(c1.link?.chain).toEqual(['fw', 'vpn']);
    // Without memory (a page opened later) the link is still there and red, leading nowhere known.
    expect(buildView(stopped).links.find((l) => l.key === 'c/nsm-1')).toMatchObject({ state: 'down' });
    expect(buildView(stopped).links.find((l) => l.key === 'c/nsm-1')?.link).toBeUndefined();
  });

  it("lists a pod's interfaces: its namespace's, its requests' and its held links' far ends", () => {
    const view = buildView(status());
    const byPod = new Map(view.nodes.flatMap((n) => n.pods.map((p) => [p.pod.name, p.ifaces])));
    expect(byPod.get('c')).toEqual(['nsm-1', 'nsm-2']);
    expect(byPod.get('vpn')).toEqual(['svc-a']);
    expect(byPod.get('d')).toEqual(['nsm-0']);
  });

  it('formats byte counts', () => {
    expect([0, 999, 1000, 1500, 12_345, 3_200_000].map(formatBytes)).toEqual([
      '0 B',
      '999 B',
      '1.0 kB',
      '1.5 kB',
      '12 kB',
      '3.2 MB',
    ]);
  });
});

const overlap = (a: Box, b: Box): boolean =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
const inside = (a: Box, b: Box): boolean =>
  a.x >= b.x && a.y >= b.y && a.x + a.w <= b.x + b.w && a.y + a.h <= b.y + b.h;

describe('the page layout', () => {
  it('is the same for the same input', () => {
    const a = layout(buildView(status()));
    const b = layout(buildView(JSON.parse(JSON.stringify(status())) as PageStatus));
    expect(JSON.stringify([...a.pods, ...a.links, ...a.rows])).toBe(
      JSON.stringify([...b.pods, ...b.links, ...b.rows]),
    );
  });

  it('puts nodes left to right, every pod inside its node, none overlapping', () => {
    const view = buildView(status());
    const l = layout(view);
    const xs = view.nodes.map((n) => l.nodes.get(n.name)!.x);
    expect(xs).toEqual([...xs].sort((p, q) => p - q));
    const pods = [...l.pods.entries()];
    for (const [name, box] of pods) {
      const node = view.nodes.find((n) => n.pods.some((p) => p.pod.name === name))!;
      expect(inside(box, l.nodes.get(node.name)!), name).toBe(true);
      expect(box.x + box.w).toBeLessThanOrEqual(l.width);
      expect(box.y + box.h).toBeLessThanOrEqual(l.height);
    }
    for (const [i, [a, pa]] of pods.entries())
      for (const [b, pb] of pods.slice(i + 1)) expect(overlap(pa, pb), `${a} and ${b}`).toBe(false);
  });

  it("draws a chain through its passthrough's box to the endpoint's interface", () => {
    const l = layout(buildView(status()));
    const shape = l.links.get('c/nsm-1')!;
    expect(shape.toPort).toBe(true);
    const fw = l.pods.get('fw')!;
    const end = l.rows.get('vpn/svc-a')!;
    const start = l.rows.get('c/nsm-1')!;
    expect(shape.dots[0]).toEqual({ x: start.x + start.w, y: start.y + start.h / 2 });
    expect(
      shape.dots.some((p) => (p.x === fw.x || p.x === fw.x + fw.w) && p.y > fw.y && p.y < fw.y + fw.h),
    ).toBe(true);
    expect(shape.dots.at(-1)).toEqual({ x: end.x, y: end.y + end.h / 2 });
    // A request leading nowhere known is a stub out of its interface.
    expect(l.links.get('c/nsm-2')!.toPort).toBe(false);
    expect(l.links.get('c/nsm-2')!.d).toMatch(/^M [\d.]+ [\d.]+ h 46$/);
  });
});
