/**
 * `nsm netem <pod>/<interface> delay <time> [jitter] | loss <percent> | rate <rate> | show | clear`:
 * impairs a pod's interface with tc netem (`tc qdisc replace dev <if> root netem ...` in its
 * namespace), for testing heal and timeouts; `clear` removes it. Combined impairments are given
 * together: `delay 100ms loss 5%`. A rate alone uses tbf. A kernel without sch_netem (some VMs)
 * cannot delay or drop: that is refused, saying so.
 */
import { execFileSync } from 'node:child_process';
import { Lab } from '../lab/lab.js';
import { LabPreconditionError, requireRoot } from '../lab/system.js';
import { podNetns } from './exec.js';

const TIME = /^\d+(\.\d+)?(us|ms|s)$/;
const PERCENT = /^\d+(\.\d+)?%$/;
const RATE = /^\d+(\.\d+)?(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$/;

/**
 * The qdisc for `args`: netem for delay and loss (with rate, if given), tbf for a rate alone (tbf
 * is in more kernels than netem).
 */
export function qdiscFor(args: string[]): string[] {
  if (args.length === 2 && args[0] === 'rate')
    return ['tbf', 'rate', args[1]!, 'burst', '32kbit', 'latency', '400ms'];
  return ['netem', ...args];
}

/** The netem arguments of `words`, checked; a UsageError-like message names what was wrong. */
export function netemArgs(words: string[]): string[] {
  const out: string[] = [];
  const fail = (msg: string): never => {
    throw new LabPreconditionError(`nsm netem: ${msg}`);
  };
  if (words.length === 0)
    fail('no impairment; expected delay <time> [jitter], loss <percent>, rate <rate>, show or clear');
  for (let i = 0; i < words.length;) {
    const word = words[i++]!;
    const arg = () => words[i++] ?? fail(`"${word}" needs a value`);
    if (word === 'delay') {
      const t = arg();
      if (!TIME.test(t)) fail(`delay "${t}" is not a time; expected a number with us, ms or s, like 100ms`);
      out.push('delay', t);
      if (words[i] !== undefined && TIME.test(words[i]!)) out.push(words[i++]!);
    } else if (word === 'loss') {
      const p = arg();
      if (!PERCENT.test(p) || Number(p.slice(0, -1)) > 100)
        fail(`loss "${p}" is not a percentage; expected 0% to 100%, like 5%`);
      out.push('loss', p);
    } else if (word === 'rate') {
      const r = arg();
      if (!RATE.test(r))
        fail(`rate "${r}" is not a rate; expected a number with bit, kbit, mbit or gbit, like 10mbit`);
      out.push('rate', r);
    } else fail(`"${word}" is not an impairment; expected delay, loss, rate, show or clear`);
  }
  return out;
}

function tc(netns: string, args: string[]): string {
  try {
    return execFileSync('ip', ['netns', 'exec', netns, 'tc', ...args], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim() ?? String(e);
    throw new LabPreconditionError(`tc ${args.join(' ')} failed in ${netns}: ${stderr}`);
  }
}

/** Applies, shows or clears the impairment of `target` (`<pod>/<interface>`). */
export function netemCommand(target: string, words: string[], opts: { lab: string }): number {
  requireRoot('nsm netem', 'tc in a pod namespace needs root');
  const m = /^([^/]+)\/([^/]+)$/.exec(target);
  if (!m) throw new LabPreconditionError(`nsm netem: "${target}" is not <pod>/<interface>, like nsc-1/nsm-1`);
  const [, pod = '', ifname = ''] = m;
  const netns = podNetns(new Lab(opts.lab), pod);
  const links = JSON.parse(execFileSync('ip', ['-n', netns, '-j', 'link', 'show'], { encoding: 'utf8' })) as {
    ifname: string;
  }[];
  if (!links.some((l) => l.ifname === ifname))
    throw new LabPreconditionError(
      `nsm netem: pod ${pod} has no interface "${ifname}"; it has ${links.map((l) => l.ifname).join(', ')}`,
    );
  if (words.length === 1 && words[0] === 'show') {
    process.stdout.write(tc(netns, ['qdisc', 'show', 'dev', ifname]));
    return 0;
  }
  if (words.length === 1 && words[0] === 'clear') {
    const shown = tc(netns, ['qdisc', 'show', 'dev', ifname]);
    if (/qdisc (netem|tbf) /.test(shown)) tc(netns, ['qdisc', 'del', 'dev', ifname, 'root']);
    process.stderr.write(`nsm netem: ${pod}/${ifname} cleared\n`);
    return 0;
  }
  const args = netemArgs(words);
  const qdisc = qdiscFor(args);
  try {
    tc(netns, ['qdisc', 'replace', 'dev', ifname, 'root', ...qdisc]);
  } catch (e) {
    if (qdisc[0] === 'netem' && /qdisc kind is unknown/.test((e as Error).message))
      throw new LabPreconditionError(
        `nsm netem: this kernel has no netem qdisc (sch_netem), so delay and loss cannot be emulated here; rate alone works (tbf). tc said: ${(e as Error).message}`,
      );
    throw e;
  }
  process.stderr.write(
    `nsm netem: ${pod}/${ifname}: ${qdisc.join(' ')} ("nsm netem ${target} clear" removes it)\n`,
  );
  return 0;
}
