/**
 * Scraping a lab daemon's Prometheus metrics as `nsm status --json` names them: its URL is on the
 * loopback of its own namespace, so the scrape runs there (`nsenter --net=<netns> node -e fetch`).
 * And a reader of the text format, enough for the mesh's metrics.
 */
import { execFile } from 'node:child_process';

/** One sample of the text format. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const FETCH = `
fetch(process.argv[1]).then(async (r) => {
  if (r.status !== 200) { console.error('HTTP ' + r.status); process.exit(2); }
  process.stdout.write(await r.text());
}, (err) => { console.error(String(err)); process.exit(1); });
`;

/** The text of `url` fetched inside the namespace at `netnsPath`. */
export function scrape(target: { url: string; netns: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'nsenter',
      [`--net=${target.netns}`, process.execPath, '-e', FETCH, target.url],
      { maxBuffer: 16 * 1024 * 1024, timeout: 10_000 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`scraping ${target.url} in ${target.netns} failed: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

/** Reads the samples of the Prometheus text format (comments skipped). */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The samples of `name` whose labels include `labels`. */
export function select(
  samples: MetricSample[],
  name: string,
  labels: Record<string, string> = {},
): MetricSample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The sum of the samples of `name` with `labels` (0 when there is none). */
export function total(samples: MetricSample[], name: string, labels: Record<string, string> = {}): number {
  return select(samples, name, labels).reduce((sum, s) => sum + s.value, 0);
}
