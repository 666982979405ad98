import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** What this process holds, by kind, as the kernel sees it. */
export function resources(): Record<string, number> {
  const out: Record<string, number> = {
    fds: 0,
    eventfds: 0,
    memfds: 0,
    sockets: 0,
    memifMaps: 0,
    maps: 0,
    threads: 0,
  };
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the directory's own descriptor, gone already
    }
    out['fds']!++;
    if (target === 'anon_inode:[eventfd]') out['eventfds']!++;
    if (target.startsWith('/memfd:')) out['memfds']!++;
    if (target.startsWith('socket:')) out['sockets']!++;
  }
  const maps = readFileSync('/proc/self/maps', 'utf8').trim().split('\n');
  out['maps'] = maps.length;
  out['memifMaps'] = maps.filter((l) => l.includes('memif region')).length;
  out['threads'] = Number(/Threads:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
  return out;
}

/** CPU ticks (user + system) of this process's threads named `name`, summed. */
export function threadTicks(name: string): number {
  let ticks = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== name) continue;
      const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
    } catch {
      continue; // the thread ended meanwhile
    }
  }
  return ticks;
}
