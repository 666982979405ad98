/**
 * Watching the lab for the page: its state is read every interval while anybody watches (an open
 * page, a pending /api/status), never two reads at once, and a new snapshot is handed out only
 * when the reading differs from the last one.
 */

/** What one read of the lab gives: its status, or why there is none (the lab is not up). */
export type Reading<T> = { ok: true; status: T } | { ok: false; error: string };

/** A reading as handed out: numbered (`seq` grows by one per change) and stamped (`at`, ms since the epoch). */
export type Snapshot<T> = Reading<T> & { seq: number; at: number };

/** Whether two readings differ (their JSON does). */
export function changed<T>(a: Reading<T> | undefined, b: Reading<T>): boolean {
  return a === undefined || JSON.stringify(a) !== JSON.stringify(b);
}

/** Usage: `const w = new Watcher(read, 250); const stop = w.subscribe((s) => send(s)); ... stop(); w.close()`. */
export class Watcher<T> {
  private readonly listeners = new Set<(snapshot: Snapshot<T>) => void>();
  private current: Snapshot<T> | undefined;
  private lastReading: Reading<T> | undefined;
  private running = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly waiters = new Set<{
    target: number;
    resolve: (snapshot: Snapshot<T>) => void;
    reject: (err: Error) => void;
  }>();
  /** Reads started so far. */
  private started = 0;

  constructor(
    private readonly read: () => Promise<Reading<T>>,
    /** The time from the start of one read to the start of the next (a slower read is followed at once). */
    private readonly intervalMs: number,
  ) {}

  /** The newest snapshot, if any read finished yet. */
  get latest(): Snapshot<T> | undefined {
    return this.current;
  }

  /** Calls `listener` with the newest snapshot now (if there is one) and with every new one; returns the unsubscribe. */
  subscribe(listener: (snapshot: Snapshot<T>) => void): () => void {
    if (this.closed) throw new Error('the watcher is closed');
    this.listeners.add(listener);
    if (this.current) listener(this.current);
    if (!this.running) void this.loop();
    return () => void this.listeners.delete(listener);
  }

  /** A fresh snapshot: the one after the next read that starts from now (also when nothing changed). */
  next(): Promise<Snapshot<T>> {
    if (this.closed) return Promise.reject(new Error('the watcher is closed'));
    const target = this.started + 1;
    return new Promise((resolve, reject) => {
      this.waiters.add({ target, resolve, reject });
      if (!this.running) void this.loop();
    });
  }

  /** Stops reading; listeners get nothing more. */
  close(): void {
    this.closed = true;
    this.listeners.clear();
    for (const waiter of this.waiters) waiter.reject(new Error('the watcher is closed'));
    this.waiters.clear();
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && (this.listeners.size > 0 || this.waiters.size > 0)) {
        const started = Date.now();
        const index = ++this.started;
        let reading: Reading<T>;
        try {
          reading = await this.read();
        } catch (err) {
          reading = { ok: false, error: err instanceof Error ? err.message : String(err) };
        }
        if (this.closed) return;
        if (changed(this.lastReading, reading)) {
          this.lastReading = reading;
          this.current = { ...reading, seq: (this.current?.seq ?? 0) + 1, at: Date.now() };
          for (const listener of [...this.listeners]) listener(this.current);
        }
        for (const waiter of [...this.waiters])
          if (index >= waiter.target) {
            this.waiters.delete(waiter);
            waiter.resolve(this.current!);
          }
        const wait = this.intervalMs - (Date.now() - started);
        if (wait > 0)
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            this.timer = setTimeout(resolve, wait);
          });
      }
    } finally {
      this.running = false;
    }
  }
}
