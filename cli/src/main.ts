#!/usr/bin/env node
/** The `nsm` command: a whole mesh on one Linux machine, from the YAML you would deploy to Kubernetes. */
import { Command, Option } from 'commander';
import {
  checkCommand,
  controlCommand,
  deleteCommand,
  downCommand,
  logsCommand,
  statusCommand,
  upCommand,
} from './commands.js';
import { LabPreconditionError } from './lab/system.js';

// `nsm status | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const program = new Command()
  .name('nsm')
  .description(
    'Network Service Mesh on one machine: emulated nodes and pods in network namespaces (needs root)',
  )
  .addOption(
    new Option('--lab <name>', 'which lab to act on (before or after the subcommand)')
      .env('NSM_LAB_NAME')
      .default('default'),
  )
  .configureHelp({ showGlobalOptions: true })
  .showHelpAfterError();

const run =
  <A extends unknown[]>(action: (...args: A) => Promise<number> | number) =>
  async (...args: A): Promise<void> => {
    try {
      process.exitCode = await action(...args);
    } catch (e) {
      process.stderr.write(`nsm: ${e instanceof Error ? e.message : String(e)}\n`);
      // Exit 2: the command cannot run as asked (not root, a tool missing, a bad option value).
      process.exitCode = e instanceof LabPreconditionError ? 2 : 1;
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
  .option('--log-level <level>', 'log level of the daemons and pods (fatal ... trace, silent)', 'info')
  .addHelpText(
    'after',
    '\nExamples:\n  nsm up deploy/examples/4g-epc && nsm check\n  nsm --lab epc2 up deploy/examples/4g-epc --nodes 3\n\nCtrl-C while the lab is being built removes what was built.',
  )
  .action(
    run((paths: string[], opts: { nodes: string; timeout: string; logLevel: string }) =>
      upCommand(paths, { ...opts, lab: lab() }),
    ),
  );

program
  .command('status')
  .description(
    'components (state, pid, restarts), pods (state, what they wait for), endpoints, services and the links each client holds',
  )
  .option('--json', 'machine-readable output (includes each netns path for nsenter --net=<path>)')
  .action(run((opts: { json?: boolean }) => statusCommand({ ...opts, lab: lab() })));

program
  .command('check')
  .description(
    'ping every link both ways (every address pair) and verify the peer is the selected endpoint; exit 0 only if all pass',
  )
  .option('--json', 'machine-readable output')
  .action(run((opts: { json?: boolean }) => checkCommand({ ...opts, lab: lab() })));

program
  .command('logs')
  .description('print the log of a component (supervisor, registry, nsmgr-node-1, forwarder-node-1) or a pod')
  .argument('<name>', 'component or pod name')
  .action(run((name: string) => logsCommand(name, { lab: lab() })));

for (const action of ['stop', 'start'] as const) {
  program
    .command(action)
    .description(
      action === 'stop'
        ? 'stop a component (registry, nsmgr-node-1, forwarder-node-1) or a pod on purpose: it is not restarted until "nsm start"'
        : 'start a stopped component or pod again, with the configuration it had',
    )
    .argument('<name>', 'component or pod name')
    .action(run((name: string) => controlCommand(action, name, { lab: lab() })));
}

program
  .command('delete')
  .description(
    'delete a pod as Kubernetes would: process and namespace gone, its registration removed, never restarted',
  )
  .argument('<pod>', 'pod name (or the word "pod", as in "nsm delete pod <name>")')
  .argument('[name]', 'pod name after "pod"')
  .action(
    run((kindOrName: string, name: string | undefined) => {
      if (name !== undefined && kindOrName !== 'pod')
        throw new LabPreconditionError(`nsm delete ${kindOrName}: expected "nsm delete [pod] <name>"`);
      return deleteCommand(name ?? kindOrName, { lab: lab() });
    }),
  );

program
  .command('down')
  .description('remove everything the lab created (idempotent; also after a crash)')
  .action(run(() => downCommand({ lab: lab() })));

await program.parseAsync();
