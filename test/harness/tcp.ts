/**
 * TCP transfers between lab pods with node itself (no iperf3 needed): an echo server runs inside one
 * network namespace, a client inside another sends random bytes and checks that the same bytes come
 * back. Data crosses the wire in both directions; the client's source address is pinned so the
 * transfer must use the mesh interface.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Accepts one connection on HOST (port 0), prints the port, echoes everything, exits when it closes. */
const SERVER = `
const net = require('node:net');
const [host, limit] = process.argv.slice(1);
const server = net.createServer((c) => { c.pipe(c); c.on('close', () => server.close()); c.on('error', () => process.exit(4)); });
server.listen(0, host, () => console.log(server.address().port));
setTimeout(() => process.exit(3), Number(limit)).unref();
`;

/** Sends BYTES random bytes from LOCAL to HOST:PORT, reads the echo, prints {sent, received, same, ms}. */
const CLIENT = `
const net = require('node:net');
const { createHash, randomBytes } = require('node:crypto');
const [host, port, local, bytes, limit] = process.argv.slice(1);
setTimeout(() => { console.error('timed out'); process.exit(3); }, Number(limit)).unref();
const data = randomBytes(Number(bytes));
const sent = createHash('sha256').update(data).digest('hex');
const got = createHash('sha256');
let received = 0;
const start = process.hrtime.bigint();
const c = net.connect({ host, port: Number(port), ...(local ? { localAddress: local } : {}) }, () => c.end(data));
c.on('data', (d) => { received += d.length; got.update(d); });
c.on('error', (e) => { console.error(e.message); process.exit(2); });
c.on('end', () => {
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const same = got.digest('hex') === sent;
  console.log(JSON.stringify({ sent: data.length, received, same, ms }));
  process.exit(same ? 0 : 1);
});
`;

/** What one echo transfer did. */
export interface EchoResult {
  /** Bytes sent by the client (the server sent the same number back). */
  sent: number;
  received: number;
  /** Whether the echoed bytes equal the sent ones (sha256). */
  same: boolean;
  ms: number;
}

/** Where one side of a transfer runs: a network namespace path (`/run/netns/<name>`) and its address there. */
export interface Side {
  netns: string;
  ip: string;
}

function inNetns(netns: string, script: string, args: string[]): ChildProcess {
  return spawn('nsenter', [`--net=${netns}`, process.execPath, '-e', script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { out: () => out, err: () => err };
}

function listeningPort(
  child: ChildProcess,
  output: ReturnType<typeof collect>,
  timeoutMs: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`echo server did not listen within ${timeoutMs} ms: ${output.err()}`)),
      timeoutMs,
    );
    const onData = (): void => {
      const line = output.out().split('\n')[0];
      if (line !== undefined && output.out().includes('\n')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(Number(line));
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`echo server exited (${code}) before listening: ${output.err()}`));
    });
  });
}

/**
 * Runs an echo server at `server` and sends `bytes` random bytes to it from `client`, bound to the
 * client's address. Resolves with the result; rejects (with both sides' stderr) when the transfer
 * fails or takes longer than `timeoutMs`. Both processes are gone when it settles.
 * Usage: `await tcpEcho({ netns: '/run/netns/a', ip: '10.0.0.1' }, { netns: '/run/netns/b', ip: '10.0.0.2' }, 2 << 20)`.
 */
export async function tcpEcho(
  server: Side,
  client: Side,
  bytes: number,
  timeoutMs = 20_000,
): Promise<EchoResult> {
  const srv = inNetns(server.netns, SERVER, [server.ip, String(timeoutMs)]);
  const srvOut = collect(srv);
  const srvExit = new Promise<number | null>((r) => srv.once('exit', (code) => r(code)));
  try {
    const port = await listeningPort(srv, srvOut, 5000);
    const cli = inNetns(client.netns, CLIENT, [
      server.ip,
      String(port),
      client.ip,
      String(bytes),
      String(timeoutMs),
    ]);
    const cliOut = collect(cli);
    const code = await new Promise<number | null>((r) => cli.once('exit', (c) => r(c)));
    const line = cliOut.out().trim();
    if (code !== 0 || !line) {
      throw new Error(
        `TCP echo ${client.ip} → ${server.ip}:${port} failed (exit ${code}): client: ${cliOut.err().trim()} ${line}; server: ${srvOut.err().trim()}`,
      );
    }
    return JSON.parse(line) as EchoResult;
  } finally {
    if (srv.exitCode === null && srv.signalCode === null) srv.kill('SIGKILL');
    await srvExit;
  }
}
