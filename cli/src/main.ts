#!/usr/bin/env node
/** The `nsm` command: a whole mesh on one Linux machine, from the YAML you would deploy to Kubernetes. */
import { Command, Option } from 'commander';
import {
  checkCommand,
  controlCommand,
  downCommand,
  logsCommand,
  statusCommand,
  upCommand,
} from './commands.js';

const program = new Command()
  .name('nsm')
  .description(
    'Network Service Mesh on one machine: emulated nodes and pods in network namespaces (needs root)',
  )
  .addOption(new Option('--lab <name>', 'which lab to act on').env('NSM_LAB_NAME').default('default'))
  .showHelpAfterError();

const run =
  <A extends unknown[]>(action: (...args: A) => Promise<number> | number) =>
  async (...args: A): Promise<void> => {
    try {
      process.exitCode = await action(...args);
    } catch (e) {
      process.stderr.write(`nsm: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  };
const lab = (): string => program.opts<{ lab: string }>().lab;

program
  .command('up')
  .description(
    'validate the manifests, create nodes, daemons and pods, and wait until every connection is up',
  )
  .argument('<path...>', 'YAML files or directories (read recursively)')
  .option('-n, --nodes <count>', 'number of emulated nodes (node-1 ... node-N)', '2')
  .option('--timeout <duration>', 'how long to wait for the connections', '60s')
  .option('--log-level <level>', 'log level of the daemons and pods', 'info')
  .addHelpText('after', '\nExample:\n  nsm up deploy/examples/4g-epc && nsm check')
  .action(
    run((paths: string[], opts: { nodes: string; timeout: string; logLevel: string }) =>
      upCommand(paths, { ...opts, lab: lab() }),
    ),
  );

program
  .command('status')
  .description(
    'nodes, pods, endpoints, network services and every connection with its interfaces and addresses',
  )
  .option('--json', 'machine-readable output (includes each netns path for nsenter --net=<path>)')
  .action(run((opts: { json?: boolean }) => statusCommand({ ...opts, lab: lab() })));

program
  .command('check')
  .description(
    'ping every connection both ways and verify the peer is the selected endpoint; exit 0 only if all pass',
  )
  .option('--json', 'machine-readable output')
  .action(run((opts: { json?: boolean }) => checkCommand({ ...opts, lab: lab() })));

program
  .command('logs')
  .description('print the log of a component (registry, nsmgr-node-1, forwarder-node-1) or a pod')
  .argument('<name>', 'component or pod name')
  .action(run((name: string) => logsCommand(name, { lab: lab() })));

for (const action of ['stop', 'start'] as const) {
  program
    .command(action)
    .description(
      action === 'stop'
        ? 'stop a component (registry, nsmgr-node-1, forwarder-node-1) or a pod, e.g. to watch the mesh heal'
        : 'start a stopped component or pod again, with the configuration it had',
    )
    .argument('<name>', 'component or pod name')
    .action(run((name: string) => controlCommand(action, name, { lab: lab() })));
}

program
  .command('down')
  .description('remove everything the lab created (idempotent; also after a crash)')
  .action(run(() => downCommand({ lab: lab() })));

await program.parseAsync();
