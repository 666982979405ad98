/**
 * `nsm ui` as a user runs it (the built command, a process of its own) and headless Chromium to
 * look at its page (playwright-core driving Debian's /usr/bin/chromium).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const cli = join(import.meta.dirname, '..', '..', 'cli', 'dist', 'main.js');

/** Debian's Chromium, which the UI tests drive. */
export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** Starts headless Chromium. Usage: `const browser = await launchChromium(); ... await browser.close()`. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** A running `nsm ui`. */
export interface NsmUi {
  url: string;
  port: number;
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/** Starts `nsm --lab <lab> ui --port 0 ...args` and waits for the URL it prints (at most 20 s). */
export function startUi(lab: string, ...args: string[]): Promise<NsmUi> {
  const child: ChildProcess = spawn(process.execPath, [cli, '--lab', lab, 'ui', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop().then(() => reject(new Error(`nsm ui printed no URL in 20 s: ${out}`)));
    }, 20_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /at (http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, port: Number(m[2]), output: () => out, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`nsm ui exited (${code ?? signal}) before printing its URL: ${out}`));
    });
  });
}
