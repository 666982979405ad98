/**
 * One end of a memif wire in a process of its own, as a pod would run it: our memif server or client
 * (forwarder/src/memif) that either receives (counting the frames delivered to JavaScript) or sends
 * as fast as the ring takes frames. The benchmark forks it ({@link MemifPeer}) and talks to it over
 * the IPC channel; it exits when told to stop or when the benchmark goes away.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createMemifClient, createMemifServer, type MemifInterface } from '@nsm-ts/forwarder/memif';
import { blast, countFrames } from '@nsm-ts/forwarder/memif/testing';

/** What a peer is. */
export interface PeerConfig {
  role: 'server' | 'client';
  /** An abstract `@name` or a path. */
  socket: string;
  /** `rx`: count what arrives; `tx`: send frames of `len` bytes until stopped. */
  direction: 'rx' | 'tx';
  len: number;
}

/** Frames counted over one window, timed by the peer's own clock. */
export interface PeerWindow {
  frames: number;
  ms: number;
}

type ToPeer = { type: 'measure'; ms: number } | { type: 'stop' };
type FromPeer =
  | { type: 'listening' }
  | { type: 'up' }
  | ({ type: 'window' } & PeerWindow)
  | { type: 'error'; message: string };

/** The benchmark's handle on a forked peer. */
export class MemifPeer {
  readonly proc: ChildProcess;
  /** Resolves once its socket exists (a server listens, a client has started connecting). */
  readonly listening: Promise<void>;
  /** Resolves when its link is up. */
  readonly up: Promise<void>;
  #windows: ((w: PeerWindow) => void)[] = [];
  #exited: Promise<void>;
  #failed: Promise<never>;

  /** With `cpu`, the process (all its threads) runs on that core only (`taskset -c`). */
  constructor(config: PeerConfig, cpu?: number) {
    this.proc = fork(fileURLToPath(import.meta.url), [JSON.stringify(config)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      ...(cpu === undefined ? {} : { execPath: 'taskset', execArgv: ['-c', String(cpu), process.execPath] }),
    });
    this.#exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
    this.#failed = new Promise<never>((_, reject) => {
      this.proc.on('message', (m: FromPeer) => {
        if (m.type === 'error')
          reject(new Error(`memif peer (${config.role} ${config.direction}): ${m.message}`));
      });
      this.proc.once('exit', (code, signal) =>
        reject(new Error(`memif peer (${config.role} ${config.direction}) exited: ${signal ?? code}`)),
      );
    });
    this.#failed.catch(() => undefined);
    const seen = (type: 'listening' | 'up'): Promise<void> =>
      Promise.race([
        new Promise<void>((resolve) => {
          const on = (m: FromPeer): void => {
            if (m.type !== type) return;
            this.proc.off('message', on);
            resolve();
          };
          this.proc.on('message', on);
        }),
        this.#failed,
      ]);
    this.listening = seen('listening');
    this.up = seen('up');
    this.proc.on('message', (m: FromPeer) => {
      if (m.type === 'window') this.#windows.shift()?.({ frames: m.frames, ms: m.ms });
    });
  }

  /** Frames received (rx) or taken by the ring (tx) over the next `ms`. */
  measure(ms: number): Promise<PeerWindow> {
    const result = new Promise<PeerWindow>((resolve) => this.#windows.push(resolve));
    this.proc.send({ type: 'measure', ms } satisfies ToPeer);
    return Promise.race([result, this.#failed]);
  }

  /** Asks it to close its memif end and exit; kills it after 5 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    if (this.proc.connected) this.proc.send({ type: 'stop' } satisfies ToPeer);
    const timer = setTimeout(() => this.kill(), 5000);
    await this.#exited;
    clearTimeout(timer);
  }

  /** For exit paths that cannot wait. */
  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

/** The peer process itself. */
async function runPeer(config: PeerConfig): Promise<void> {
  const send = (m: FromPeer): void => void process.send?.(m);
  let iface: MemifInterface;
  let close: () => void;
  if (config.role === 'server') {
    const server = createMemifServer({ socket: config.socket });
    iface = server.interface(0);
    close = () => server.close();
  } else {
    const client = createMemifClient({ socket: config.socket, reconnectMs: 20 });
    iface = client;
    close = () => client.close();
  }
  const stop = new AbortController();
  const count = config.direction === 'rx' ? countFrames(iface) : undefined;
  const frames = (): number => count?.frames ?? iface.stats().txFrames;
  let sending: Promise<number> | undefined;
  const finish = async (): Promise<void> => {
    stop.abort();
    await sending;
    count?.off();
    close();
    process.exit(0);
  };
  process.on('disconnect', () => void finish());
  process.on('message', (m: ToPeer) => {
    if (m.type === 'stop') void finish();
    if (m.type === 'measure') {
      const f0 = frames();
      const t0 = performance.now();
      setTimeout(() => send({ type: 'window', frames: frames() - f0, ms: performance.now() - t0 }), m.ms);
    }
  });
  send({ type: 'listening' });
  await iface.waitUp();
  send({ type: 'up' });
  if (config.direction === 'tx') sending = blast(iface, config.len, stop.signal);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runPeer(JSON.parse(process.argv[2] ?? '{}') as PeerConfig).catch((err: unknown) => {
    process.send?.({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
}
