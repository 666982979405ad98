/// <reference lib="dom" />
/**
 * `nsm ui` end to end: a lab, the real `nsm ui` process, its page in headless Chromium. The page
 * must draw what `nsm status --json` shows (nodes, pods, interfaces, links with their chains and
 * states), update live, turn a stopped client's links red within a second, show details on click,
 * say "lab not running" while the lab is down and recover when it is back; and the 4G EPC must be
 * laid out readably (a screenshot, checked from the DOM and its pixels).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { statusJson, type StatusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { nsm, testLabName } from '../harness/nsm-cli.js';
import { CHROMIUM, hasChromium, launchChromium, startUi, type NsmUi } from '../harness/nsm-ui.js';

const title = (t: string): string =>
  !isRoot ? rootTitle(t) : hasChromium ? t : `${t} — skipped: needs ${CHROMIUM} (apt-get install chromium)`;
const nothingLeft = { namespaces: [], processes: [], stateDir: false };

/** What the page draws, read from its DOM hooks. */
interface Drawn {
  nodes: string[];
  pods: { name: string; node: string; role: string; state: string }[];
  links: { key: string; state: string; held: string; endpoint: string; chain: string; toPort: string }[];
  ifaces: string[];
  conn: string;
  seq: number;
}

function drawn(page: Page): Promise<Drawn> {
  return page.evaluate(() => {
    const all = (sel: string): HTMLElement[] => [...document.querySelectorAll<HTMLElement>(sel)];
    return {
      nodes: all('section[data-node]').map((e) => e.dataset['node']!),
      pods: all('[data-pod]').map((e) => ({
        name: e.dataset['pod']!,
        node: e.dataset['node']!,
        role: e.dataset['role']!,
        state: e.dataset['state']!,
      })),
      links: [...document.querySelectorAll<SVGElement>('[data-link]')].map((e) => ({
        key: e.dataset['link']!,
        state: e.dataset['state']!,
        held: e.dataset['held']!,
        endpoint: e.dataset['endpoint']!,
        chain: e.dataset['chain']!,
        toPort: e.dataset['toPort']!,
      })),
      ifaces: all('[data-iface]').map((e) => e.dataset['iface']!),
      conn: document.body.dataset['conn'] ?? '',
      seq: Number(document.body.dataset['seq'] ?? 0),
    };
  });
}

const colour = (state: string): string => (state === 'UP' ? 'up' : state === 'HEALING' ? 'pending' : 'down');

/** The page must show exactly the nodes, pods, interfaces and links of `status`. */
function expectMatches(page: Drawn, status: StatusJson): void {
  expect(page.nodes).toEqual(
    status.nodes.map((n) => n.name).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })),
  );
  const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name);
  expect([...page.pods].sort(byName)).toEqual(
    status.pods.map(({ name, node, role, state }) => ({ name, node, role, state })).sort(byName),
  );
  const held = page.links.filter((l) => l.held === 'true');
  expect(held.map((l) => l.key).sort()).toEqual(
    status.links.map((l) => `${l.client}/${l.clientInterface}`).sort(),
  );
  for (const l of status.links) {
    expect(held.find((h) => h.key === `${l.client}/${l.clientInterface}`)).toEqual({
      key: `${l.client}/${l.clientInterface}`,
      state: colour(l.state),
      held: 'true',
      endpoint: l.endpoint,
      chain: l.chain.join(','),
      toPort: 'true',
    });
    expect(page.ifaces).toContain(`${l.client}/${l.clientInterface}`);
    expect(page.ifaces).toContain(`${l.endpoint}/${l.endpointInterface}`);
  }
  for (const p of status.pods)
    for (const i of p.interfaces ?? []) expect(page.ifaces).toContain(`${p.name}/${i.name}`);
}

/** Waits until the page has drawn a snapshot newer than the one it showed when called. */
async function nextSnapshot(page: Page): Promise<void> {
  const seq = (await drawn(page)).seq;
  await page.waitForFunction((s) => Number(document.body.dataset['seq'] ?? 0) > s, seq, { timeout: 5000 });
}

/**
 * The page matches `nsm status --json` once it drew a snapshot taken after the status was read;
 * while the lab is still settling (an interface just created) another round is tried, up to 15 s.
 */
async function expectPageMatchesStatus(page: Page, lab: string): Promise<StatusJson> {
  const end = Date.now() + 15_000;
  for (;;) {
    const status = await statusJson(lab);
    await nextSnapshot(page);
    try {
      expectMatches(await drawn(page), status);
      return status;
    } catch (err) {
      if (Date.now() > end) throw err;
    }
  }
}

describe.skipIf(!isRoot || !hasChromium)(title('test/e2e/ui: nsm ui on secure-intranet'), () => {
  const lab = testLabName('ui');
  let ui: NsmUi | undefined;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    const run = await nsm(lab, 'up', 'deploy/examples/secure-intranet', '--timeout', '60s');
    expect(run.code, run.stderr).toBe(0);
    ui = await startUi(lab);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(ui.url);
    await page.waitForSelector('[data-link][data-state="up"]', { timeout: 10_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await ui?.stop();
    await nsm(lab, 'down');
    expect(leftovers(lab)).toEqual(nothingLeft);
  }, 60_000);

  it('draws the nodes, pods, interfaces and links of nsm status --json, the chain through the firewall', async () => {
    const status = await expectPageMatchesStatus(page, lab);
    expect(status.links.map((l) => l.chain)).toEqual([['firewall', 'vpn-gateway']]);
    // /api/status is the same model.
    const api = (await (await fetch(`${ui!.url}api/status`)).json()) as StatusJson;
    expect(api.pods.map((p) => [p.name, p.state])).toEqual(status.pods.map((p) => [p.name, p.state]));
    expect(api.links.map((l) => [l.id, l.endpoint, l.state])).toEqual(
      status.links.map((l) => [l.id, l.endpoint, l.state]),
    );
  });

  it("updates the interfaces' counters live, from the kernel's", async () => {
    const status = await statusJson(lab);
    const counted = status.pods
      .find((p) => p.name === 'intranet-client')!
      .interfaces!.find((i) => i.name === 'nsm-1')!;
    const row = page.locator('[data-iface="intranet-client/nsm-1"]');
    const before = Number(await row.getAttribute('data-rx-packets'));
    expect(before).toBeGreaterThanOrEqual(counted.counters.rxPackets);
    // The client's liveness pings keep the counters moving.
    await page.waitForFunction(
      (n) =>
        Number(
          document.querySelector<HTMLElement>('[data-iface="intranet-client/nsm-1"]')?.dataset['rxPackets'],
        ) > n,
      before,
      { timeout: 5000 },
    );
    expect(await row.locator('.counters').textContent()).toMatch(/↓ [\d.]+ [kMG]?B \(\d+\).*↑/);
  });

  it('shows the details of a pod and of a link on click', async () => {
    const status = await statusJson(lab);
    const client = status.pods.find((p) => p.name === 'intranet-client')!;
    await page.click('[data-pod="intranet-client"]');
    const panel = page.locator('#details');
    await expect.poll(() => panel.getAttribute('data-details')).toBe('pod:intranet-client');
    expect(await panel.locator('[data-field="node"]').textContent()).toBe(client.node);
    expect(await panel.locator('[data-field="netns"]').textContent()).toBe(client.netns);
    expect(await panel.locator('[data-field="pid"]').textContent()).toBe(String(client.pid));
    expect(await panel.locator('[data-field="role"]').textContent()).toBe('client');
    expect(await panel.textContent()).toContain(client.interfaces![0]!.addresses[0]!);

    const link = status.links[0]!;
    await page.click('[data-link="intranet-client/nsm-1"] .hit', { force: true });
    await expect.poll(() => panel.getAttribute('data-details')).toBe('link:intranet-client/nsm-1');
    expect(await panel.locator('[data-field="service"]').textContent()).toBe('secure-intranet');
    expect(await panel.locator('[data-field="chain"]').textContent()).toBe('firewall → vpn-gateway');
    expect(await panel.locator('[data-field="mechanism"]').textContent()).toBe(link.mechanism);
    expect(await panel.locator('[data-field="endpoint"]').textContent()).toBe(
      `vpn-gateway/${link.endpointInterface} on ${link.endpointNode}`,
    );
    expect(await panel.locator('[data-field="client addresses"]').textContent()).toBe(
      link.clientIps.join(', '),
    );
    await page.keyboard.press('Escape');
    await expect.poll(() => panel.isHidden()).toBe(true);
  });

  it('turns the links of a stopped client red within a second, and green again after start', async () => {
    const stop = await nsm(lab, 'stop', 'intranet-client');
    expect(stop.code, stop.stderr).toBe(0);
    const stoppedAt = Date.now();
    await page.waitForFunction(
      () =>
        document.querySelector<SVGElement>('[data-link="intranet-client/nsm-1"]')?.dataset['state'] ===
          'down' &&
        document.querySelector<HTMLElement>('[data-pod="intranet-client"]')?.dataset['state'] === 'stopped',
      undefined,
      { timeout: 1000 },
    );
    const elapsed = Date.now() - stoppedAt;
    expect(elapsed).toBeLessThan(1000);
    // Still drawn to where it led, through the firewall.
    expect((await drawn(page)).links).toEqual([
      expect.objectContaining({ key: 'intranet-client/nsm-1', held: 'false', chain: 'firewall,vpn-gateway' }),
    ]);
    const start = await nsm(lab, 'start', 'intranet-client');
    expect(start.code, start.stderr).toBe(0);
    await page.waitForSelector('[data-link="intranet-client/nsm-1"][data-state="up"][data-held="true"]', {
      timeout: 30_000,
    });
    expect(await page.getAttribute('[data-pod="intranet-client"]', 'data-state')).toBe('running');
  }, 60_000);

  it('refuses a bad --port, a port in use and a lab that is not up, saying so', async () => {
    const bad = await nsm(lab, 'ui', '--port', 'abc');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port abc: expected a port from 1 to 65535, or 0 for a free one');
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const inUse = await nsm(lab, 'ui', '--port', String(port));
      expect(inUse.code).toBe(2);
      expect(inUse.stderr).toContain(`--port ${port}: 127.0.0.1:${port} is already in use`);
    } finally {
      busy.close();
    }
    const other = testLabName('ui-none');
    const none = await nsm(other, 'ui', '--port', '0');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`lab "${other}" is not up`);
  });

  it('says "lab not running" while the lab is down and follows it again when it is back', async () => {
    const down = await nsm(lab, 'down');
    expect(down.code, down.stderr).toBe(0);
    await page.waitForFunction(() => document.body.dataset['conn'] === 'down', undefined, {
      timeout: 10_000,
    });
    expect(await page.locator('#banner').textContent()).toContain('lab not running');
    const up = await nsm(lab, 'up', 'deploy/examples/secure-intranet', '--timeout', '60s');
    expect(up.code, up.stderr).toBe(0);
    await page.waitForSelector('[data-link="intranet-client/nsm-1"][data-state="up"][data-held="true"]', {
      timeout: 20_000,
    });
    expect((await drawn(page)).conn).toBe('live');
    expect(await page.locator('#banner').isHidden()).toBe(true);
    await expectPageMatchesStatus(page, lab);
  }, 120_000);
});

describe.skipIf(!isRoot || !hasChromium)(title('test/e2e/ui: the 4G EPC layout'), () => {
  const lab = testLabName('ui-epc');
  const dir = mkdtempSync(join(tmpdir(), 'nsm-ui-epc-'));
  let ui: NsmUi | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const viewport = { width: 1400, height: 1000 };

  beforeAll(async () => {
    const run = await nsm(lab, 'up', 'deploy/examples/4g-epc', '--timeout', '90s');
    expect(run.code, run.stderr).toBe(0);
    ui = await startUi(lab);
    browser = await launchChromium();
    page = await browser.newPage({ viewport });
    await page.goto(ui.url);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-link][data-state="up"]').length === 9,
      undefined,
      {
        timeout: 20_000,
      },
    );
  }, 150_000);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await ui?.stop();
    rmSync(dir, { recursive: true, force: true });
    await nsm(lab, 'down');
    expect(leftovers(lab)).toEqual(nothingLeft);
  }, 60_000);

  it('lays the nine pods and nine links out in the viewport, in order, without overlaps', async () => {
    const status = await expectPageMatchesStatus(page, lab);
    expect(status.links).toHaveLength(9);
    const geometry = await page.evaluate(() => {
      const rect = (e: Element): { x: number; y: number; w: number; h: number } => {
        const r = e.getBoundingClientRect();
        return { x: r.x, y: r.y, w: r.width, h: r.height };
      };
      return {
        nodes: [...document.querySelectorAll<HTMLElement>('section[data-node]')].map((e) => ({
          name: e.dataset['node']!,
          ...rect(e),
        })),
        pods: [...document.querySelectorAll<HTMLElement>('[data-pod]')].map((e) => ({
          name: e.dataset['pod']!,
          node: e.dataset['node']!,
          ...rect(e),
        })),
        rows: Object.fromEntries(
          [...document.querySelectorAll<HTMLElement>('[data-iface]')].map((e) => [
            e.dataset['iface']!,
            rect(e),
          ]),
        ),
        links: [...document.querySelectorAll<SVGGElement>('[data-link]')].map((g) => ({
          key: g.dataset['link']!,
          wire: rect(g.querySelector('.wire')!),
          dots: [...g.querySelectorAll('circle')].map((c) => {
            const r = c.getBoundingClientRect();
            return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
          }),
        })),
      };
    });
    type R = { x: number; y: number; w: number; h: number };
    const inside = (a: R, b: R): boolean =>
      a.x >= b.x - 0.5 && a.y >= b.y - 0.5 && a.x + a.w <= b.x + b.w + 0.5 && a.y + a.h <= b.y + b.h + 0.5;
    const overlap = (a: R, b: R): boolean =>
      a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    const screen = { x: 0, y: 0, w: viewport.width, h: viewport.height };
    expect(geometry.pods).toHaveLength(9);
    expect(geometry.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2']);
    expect(geometry.nodes[0]!.x + geometry.nodes[0]!.w).toBeLessThan(geometry.nodes[1]!.x);
    for (const pod of geometry.pods) {
      expect(inside(pod, screen), `${pod.name} in the viewport`).toBe(true);
      expect(
        inside(
          pod,
          geometry.nodes.find((n) => n.name === pod.node)!,
        ),
        `${pod.name} in ${pod.node}`,
      ).toBe(true);
    }
    for (const [i, a] of geometry.pods.entries())
      for (const b of geometry.pods.slice(i + 1))
        expect(overlap(a, b), `${a.name} and ${b.name}`).toBe(false);
    // Every link drawn from its client's interface to its endpoint's.
    for (const l of status.links) {
      const key = `${l.client}/${l.clientInterface}`;
      const shape = geometry.links.find((g) => g.key === key)!;
      expect(shape.wire.w + shape.wire.h, key).toBeGreaterThan(20);
      const podOf = (name: string): R => geometry.pods.find((p) => p.name === name)!;
      const from = geometry.rows[key]!;
      const to = geometry.rows[`${l.endpoint}/${l.endpointInterface}`]!;
      const [first, last] = [shape.dots[0]!, shape.dots.at(-1)!];
      // At the edge of the pod's box, at the height of the interface's row.
      const onEdge = (p: { x: number; y: number }, box: R, row: R): boolean =>
        (Math.abs(p.x - box.x) < 2 || Math.abs(p.x - (box.x + box.w)) < 2) &&
        p.y > row.y &&
        p.y < row.y + row.h;
      expect(onEdge(first, podOf(l.client), from), `${key} starts at its interface`).toBe(true);
      expect(onEdge(last, podOf(l.endpoint), to), `${key} ends at ${l.endpoint}/${l.endpointInterface}`).toBe(
        true,
      );
    }
  });

  it('takes a screenshot that is not blank and shows the green of the links', async () => {
    const file = join(dir, '4g-epc.png');
    await page.screenshot({ path: file });
    expect(statSync(file).size).toBeGreaterThan(10_000);
    const png = readFileSync(file).toString('base64');
    // Count the pixels in a page of its own (no CSP there): how many are not background, how many green.
    const counter = await browser!.newPage();
    try {
      const counts = await counter.evaluate(async (data) => {
        const img = new Image();
        img.src = `data:image/png;base64,${data}`;
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.width;
        canvas.height = img.height;
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(img, 0, 0);
        const px = ctx.getImageData(0, 0, img.width, img.height).data;
        let ink = 0;
        let green = 0;
        for (let i = 0; i < px.length; i += 4) {
          const [r, g, b] = [px[i]!, px[i + 1]!, px[i + 2]!];
          if (r < 235 || g < 235 || b < 235) ink++;
          if (Math.abs(r - 0x2e) < 30 && Math.abs(g - 0x9e) < 30 && Math.abs(b - 0x48) < 30) green++;
        }
        return { width: img.width, height: img.height, ink, green };
      }, png);
      expect(counts).toMatchObject({ width: viewport.width, height: viewport.height });
      expect(counts.ink / (counts.width * counts.height)).toBeGreaterThan(0.05);
      expect(counts.green).toBeGreaterThan(2000);
    } finally {
      await counter.close();
    }
  });
});
