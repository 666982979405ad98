/**
 * Where everything goes: nodes are columns in name order, a node's pods are stacked in it
 * (clients, then passthroughs, then endpoints, each by name), a pod's interfaces are rows. Links
 * are curves from the client's interface to the endpoint's, through the box of every passthrough
 * on their chain. Pure and deterministic: the same view always gives the same numbers.
 */
import type { View, ViewLink } from './model.js';

export const SIZES = {
  margin: 24,
  nodeWidth: 320,
  nodeGap: 150,
  nodeHeader: 58,
  podWidth: 284,
  podHeader: 44,
  row: 40,
  podGap: 20,
  podPad: 8,
  /** Room on the right of the last node for links that loop within a node. */
  loopRoom: 90,
};

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A point where a link meets a box, and which way it leaves it (-1 left, +1 right). */
interface Port {
  x: number;
  y: number;
  dir: -1 | 1;
}

export interface LinkShape {
  /** SVG path data. */
  d: string;
  /** Where its label goes. */
  label: { x: number; y: number };
  /** Whether the far end is a known interface (false: the endpoint's box, or nothing known). */
  toPort: boolean;
  /** Where it meets a box: its interface, the passthroughs it goes through, its end. */
  dots: { x: number; y: number }[];
}

export interface Layout {
  width: number;
  height: number;
  nodes: Map<string, Box>;
  pods: Map<string, Box>;
  /** Interface rows by `<pod>/<ifname>`. */
  rows: Map<string, Box>;
  links: Map<string, LinkShape>;
}

const round = (n: number): number => Math.round(n * 10) / 10;

/** A cubic curve from `a` to `b`, leaving and entering horizontally. */
function segment(
  a: Port,
  b: Port,
  bulge: number,
): { d: string; mid: { x: number; y: number }; length: number } {
  const k = Math.max(bulge, Math.abs(b.x - a.x) * 0.45);
  const c1 = { x: a.x + a.dir * k, y: a.y };
  const c2 = { x: b.x + b.dir * k, y: b.y };
  const mid = { x: (a.x + 3 * c1.x + 3 * c2.x + b.x) / 8, y: (a.y + 3 * c1.y + 3 * c2.y + b.y) / 8 };
  return {
    d: `C ${round(c1.x)} ${round(c1.y)} ${round(c2.x)} ${round(c2.y)} ${round(b.x)} ${round(b.y)}`,
    mid,
    length: Math.hypot(b.x - a.x, b.y - a.y),
  };
}

/** Lays out `view`. */
export function layout(view: View): Layout {
  const S = SIZES;
  const nodes = new Map<string, Box>();
  const pods = new Map<string, Box>();
  const rows = new Map<string, Box>();
  const column = new Map<string, number>();
  let tallest = 0;
  view.nodes.forEach((node, i) => {
    const x = S.margin + i * (S.nodeWidth + S.nodeGap);
    let y = S.margin + S.nodeHeader;
    for (const { pod, ifaces } of node.pods) {
      const h = S.podHeader + Math.max(1, ifaces.length) * S.row + S.podPad;
      const box = { x: x + (S.nodeWidth - S.podWidth) / 2, y, w: S.podWidth, h };
      pods.set(pod.name, box);
      column.set(pod.name, i);
      ifaces.forEach((name, r) =>
        rows.set(`${pod.name}/${name}`, {
          x: box.x,
          y: y + S.podHeader + r * S.row,
          w: S.podWidth,
          h: S.row,
        }),
      );
      y += h + S.podGap;
    }
    tallest = Math.max(tallest, y - S.margin);
  });
  view.nodes.forEach((node, i) =>
    nodes.set(node.name, {
      x: S.margin + i * (S.nodeWidth + S.nodeGap),
      y: S.margin,
      w: S.nodeWidth,
      h: Math.max(tallest, S.nodeHeader + S.row) + S.podPad,
    }),
  );
  const n = view.nodes.length;
  const width = S.margin * 2 + n * S.nodeWidth + Math.max(0, n - 1) * S.nodeGap + S.loopRoom;
  const height = S.margin * 2 + Math.max(tallest, S.nodeHeader + S.row) + S.podPad;

  const links = new Map<string, LinkShape>();
  let loops = 0;
  for (const link of view.links) {
    const shape = linkShape(link, pods, rows, column, () => loops++);
    if (shape) links.set(link.key, shape);
  }
  return { width, height, nodes, pods, rows, links };
}

/** The side of `box` facing a point in column `to` from column `from` (same column: the right). */
const side = (from: number, to: number): -1 | 1 => (to < from ? -1 : 1);

function linkShape(
  link: ViewLink,
  pods: Map<string, Box>,
  rows: Map<string, Box>,
  column: Map<string, number>,
  nextLoop: () => number,
): LinkShape | undefined {
  const startRow = rows.get(`${link.client}/${link.ifname}`);
  const startCol = column.get(link.client);
  if (!startRow || startCol === undefined) return undefined;
  const chain = (link.link?.chain ?? []).filter((name) => pods.has(name));
  const endpoint = link.link?.endpoint;
  const endRow =
    endpoint && link.held && link.link?.endpointInterface
      ? rows.get(`${endpoint}/${link.link.endpointInterface}`)
      : undefined;

  // The stops: every box of the chain, the last one at its interface row when that is known.
  const stops = chain.map((name, i) => {
    const box = pods.get(name)!;
    const row = i === chain.length - 1 ? endRow : undefined;
    return { col: column.get(name)!, box, y: row ? row.y + row.h / 2 : box.y + box.h / 2 };
  });
  const rowY = startRow.y + startRow.h / 2;
  if (stops.length === 0) {
    // Nothing known about where it leads: a short stub out of the interface.
    const x = startRow.x + startRow.w;
    return {
      d: `M ${round(x)} ${round(rowY)} h 46`,
      label: { x: x + 50, y: rowY - 6 },
      toPort: false,
      dots: [{ x, y: rowY }],
    };
  }
  const bulge = 46 + (nextLoop() % 4) * 12;
  let prevCol = startCol;
  let at: Port = {
    x: 0,
    y: rowY,
    dir: side(startCol, stops[0]!.col),
  };
  at = { ...at, x: at.dir > 0 ? startRow.x + startRow.w : startRow.x };
  let d = `M ${round(at.x)} ${round(at.y)}`;
  const dots = [{ x: at.x, y: at.y }];
  let best = { length: -1, mid: { x: at.x, y: at.y } };
  stops.forEach((stop, i) => {
    const inDir = side(stop.col, prevCol);
    const entry: Port = { x: inDir > 0 ? stop.box.x + stop.box.w : stop.box.x, y: stop.y, dir: inDir };
    const seg = segment(at, entry, bulge);
    d += ` ${seg.d}`;
    dots.push({ x: entry.x, y: entry.y });
    if (seg.length > best.length) best = seg;
    const next = stops[i + 1];
    if (next) {
      // Through the passthrough's box (drawn beneath it) and out of the side facing the next stop.
      const outDir = side(stop.col, next.col);
      const exit: Port = {
        x: outDir > 0 ? stop.box.x + stop.box.w : stop.box.x,
        y: stop.y + 10,
        dir: outDir,
      };
      d += ` L ${round(exit.x)} ${round(exit.y)}`;
      if (exit.x !== entry.x) dots.push({ x: exit.x, y: exit.y });
      at = exit;
    }
    prevCol = stop.col;
  });
  return {
    d,
    label: { x: round(best.mid.x), y: round(best.mid.y - 5) },
    toPort: endRow !== undefined,
    dots: dots.map((p) => ({ x: round(p.x), y: round(p.y) })),
  };
}
