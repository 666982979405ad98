/**
 * A watchable record store keyed by name: the shared core of the NSE and NS memory stores. Watchers
 * get the current matches first, then every change, through one rxjs Subject fanned out to all.
 */
import { Observable, Subject } from 'rxjs';

/** One change or one current record, as a Find stream reports it. */
export interface StoreEvent<T> {
  record: T;
  deleted: boolean;
}

/** How a store indexes and copies its records. */
export interface StoreOptions<T, Q> {
  /** Whether `record` matches `query`. */
  match(query: Q, record: T): boolean;
  /** A copy handed out to readers, so nobody mutates the stored record. */
  copy(record: T): T;
  /** Names worth checking for `query` (undefined: all records); an index narrows big stores. */
  candidates?(query: Q): Iterable<string> | undefined;
  /** Called when a record is added, replaced (with the old one) or removed, to maintain indexes. */
  onChange?(name: string, before: T | undefined, after: T | undefined): void;
}

/** Records by name with change notification. Usage: `new WatchableStore<NS, NS>({ match, copy })`. */
export class WatchableStore<T, Q> {
  private readonly records = new Map<string, T>();
  private readonly changes = new Subject<StoreEvent<T>>();
  private watching = 0;

  constructor(private readonly options: StoreOptions<T, Q>) {}

  /** Number of stored records. */
  get size(): number {
    return this.records.size;
  }

  /** The stored record named `name` (a copy). */
  get(name: string): T | undefined {
    const record = this.records.get(name);
    return record === undefined ? undefined : this.options.copy(record);
  }

  /** Stores (or replaces) `record` under `name` and tells the watchers. */
  put(name: string, record: T): void {
    const stored = this.options.copy(record);
    const before = this.records.get(name);
    this.records.set(name, stored);
    this.options.onChange?.(name, before, stored);
    this.changes.next({ record: stored, deleted: false });
  }

  /** Removes the record named `name`, telling the watchers; returns whether there was one. */
  delete(name: string): boolean {
    const before = this.records.get(name);
    if (before === undefined) return false;
    this.records.delete(name);
    this.options.onChange?.(name, before, undefined);
    this.changes.next({ record: before, deleted: true });
    return true;
  }

  /** Copies of the records matching `query`. */
  find(query: Q): T[] {
    const out: T[] = [];
    const names = this.options.candidates?.(query);
    if (names === undefined) {
      for (const record of this.records.values())
        if (this.options.match(query, record)) out.push(this.options.copy(record));
      return out;
    }
    for (const name of names) {
      const record = this.records.get(name);
      if (record !== undefined && this.options.match(query, record)) out.push(this.options.copy(record));
    }
    return out;
  }

  /**
   * The current matches, then every matching change, until unsubscribed. Both happen synchronously
   * on subscribe, so no change can slip between the snapshot and the live feed.
   */
  watch(query: Q): Observable<StoreEvent<T>> {
    return new Observable<StoreEvent<T>>((subscriber) => {
      for (const record of this.find(query)) subscriber.next({ record, deleted: false });
      const live = this.changes.subscribe({
        next: (event) => {
          if (this.options.match(query, event.record))
            subscriber.next({ record: this.options.copy(event.record), deleted: event.deleted });
        },
        complete: () => subscriber.complete(),
      });
      this.watching++;
      return () => {
        this.watching--;
        live.unsubscribe();
      };
    });
  }

  /** Number of live watchers (for tests and diagnostics). */
  get watchers(): number {
    return this.watching;
  }

  /** Completes every watch stream. */
  close(): void {
    this.changes.complete();
  }
}
