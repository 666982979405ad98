import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let n = 0;

/** A fresh abstract socket name for this process (tests only). */
export function abstractName(tag: string): string {
  n++;
  return `@nsm-memif-test/${process.pid}/${tag}/${n}`;
}

/** A temporary directory for socket files, and its removal. */
export function tempDir(): { dir: string; path(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'nsm-memif-'));
  return {
    dir,
    path: (name) => join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Closes everything a test opened, in reverse order, even when one close throws. */
export class Closer {
  #items: { close(): void }[] = [];
  add<T extends { close(): void }>(item: T): T {
    this.#items.push(item);
    return item;
  }
  closeAll(): void {
    const errors: unknown[] = [];
    for (const item of this.#items.reverse()) {
      try {
        item.close();
      } catch (err) {
        errors.push(err);
      }
    }
    this.#items = [];
    if (errors.length) throw errors[0];
  }
}

/** A frame of `len` bytes whose content depends on `seed`, for checking what arrives. */
export function frame(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 31 + i) & 0xff;
  return b;
}
