#!/usr/bin/env node
/** The `nsm` command: a whole mesh on one Linux machine, from the YAML you would deploy to Kubernetes. */
import { Command, Option } from 'commander';
import {
  checkCommand,
  controlCommand,
  deleteCommand,
  downCommand,
  statusCommand,
  upCommand,
  identityCommand,
  clusterStatusCommand,
  type StatusFlags,
  type UpFlags,
} from './commands.js';
import { LabPreconditionError } from './lab/system.js';
import { applyCommand } from './operate/apply-command.js';
import { execCommand } from './operate/exec.js';
import { logsCommand } from './operate/logs.js';
import { netemCommand } from './operate/netem.js';
import { TRACE_HELP, traceCommand } from './trace.js';
import { uiCommand, type UiFlags } from './ui/command.js';

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
  .option(
    '--cert-lifetime <duration>',
    'lifetime of the X.509-SVIDs the lab issues to its components; renewed at two thirds',
    '24h',
  )
  .option('--insecure', 'no mesh CA, no mTLS, no token verification (debugging only)')
  .addHelpText(
    'after',
    '\nExamples:\n  nsm up deploy/examples/4g-epc && nsm check\n  nsm --lab epc2 up deploy/examples/4g-epc --nodes 3\n\n' +
      'The lab has a mesh CA (trust domain nsm.local): every daemon and pod gets an X.509-SVID, all gRPC is\n' +
      'mTLS and every hop checks the tokens of the path. Ctrl-C while the lab is being built removes what was built.',
  )
  .action(run((paths: string[], opts: UpFlags) => upCommand(paths, { ...opts, lab: lab() })));

program
  .command('status')
  .description(
    'components (state, pid, restarts), pods (state, what they wait for), endpoints, services and the links each client holds',
  )
  .option('--json', 'machine-readable output (includes each netns path for nsenter --net=<path>)')
  .option(
    '--kubeconfig <file>',
    "a cluster's mesh instead of the lab: its services, endpoints, managers and connections",
  )
  .option('--context <name>', 'with --kubeconfig: the context to use (default: the current one)')
  .option('--namespace <name>', "with --kubeconfig: the mesh's namespace", 'nsm-system')
  .option('--manager-port <port>', "with --kubeconfig: the managers' TCP port on their nodes", '5001')
  .option(
    '--identity <dir>',
    'with --kubeconfig: an X.509-SVID of the trust domain to read the managers with (an operator identity sees every connection)',
  )
  .addHelpText(
    'after',
    '\nExamples:\n  nsm status\n  nsm status --kubeconfig ~/.kube/config --identity /etc/nsm/operator',
  )
  .action(
    run((opts: StatusFlags) =>
      opts.kubeconfig ? clusterStatusCommand(opts) : statusCommand({ ...opts, lab: lab() }),
    ),
  );

program
  .command('check')
  .description(
    'ping every link both ways (every address pair) and verify the peer is the selected endpoint; exit 0 only if all pass',
  )
  .option('--json', 'machine-readable output')
  .action(run((opts: { json?: boolean }) => checkCommand({ ...opts, lab: lab() })));

program
  .command('logs')
  .description(
    'print the log of a component (supervisor, registry, nsmgr-node-1, forwarder-node-1) or a pod, or of all of them merged by time, human-readable',
  )
  .argument('[name]', 'component or pod name (default: every one)')
  .option('-f, --follow', 'keep printing as the logs grow, until Ctrl-C')
  .option('--json', "pino's JSON lines as written")
  .addHelpText('after', '\nExamples:\n  nsm logs -f\n  nsm logs forwarder-node-1 --json | jq .msg')
  .action(
    run((name: string | undefined, opts: { follow?: boolean; json?: boolean }) =>
      logsCommand(name, { ...opts, lab: lab() }),
    ),
  );

program
  .command('apply')
  .description(
    'add or change pods, Deployments (scale), endpoints and NetworkServices of a running lab, validated as nsm up validates; only what changed is touched',
  )
  .requiredOption('-f, --filename <path...>', 'YAML files or directories')
  .option('--timeout <duration>', 'how long to wait for the new connections', '60s')
  .addHelpText(
    'after',
    '\nExamples:\n  nsm apply -f deploy/examples/4g-epc-eir\n  nsm delete -f deploy/examples/4g-epc-eir',
  )
  .action(
    run((opts: { filename: string[]; timeout: string }) =>
      applyCommand('apply', opts.filename, { lab: lab(), timeout: opts.timeout }),
    ),
  );

program
  .command('exec')
  .description("run a command in a pod's network namespace, as kubectl exec")
  .argument('<pod>', 'pod name')
  .argument('<command...>', 'the command and its arguments, after --')
  .addHelpText('after', '\nExample:\n  nsm exec hss -- ping -c1 10.60.1.1')
  .action(run((pod: string, command: string[]) => execCommand(pod, command, { lab: lab() })));

program
  .command('netem')
  .description("impair a pod's interface with tc netem, for testing heal: delay, loss, rate; show; clear")
  .argument('<pod/interface>', 'e.g. hss/nsm-0')
  .argument('<impairment...>', 'delay <time> [jitter] | loss <percent> | rate <rate> | show | clear')
  .addHelpText(
    'after',
    '\nExamples:\n  nsm netem hss/nsm-0 delay 100ms 10ms loss 5%\n  nsm netem hss/nsm-0 show\n  nsm netem hss/nsm-0 clear',
  )
  .action(run((target: string, words: string[]) => netemCommand(target, words, { lab: lab() })));

program
  .command('trace')
  .description(
    "print where a connection's request spent its time: a span per hop (client, managers, forwarders, endpoint) and per stage, as a waterfall",
  )
  .argument('<connection>', 'a client pod name, or a connection id on the path')
  .option('--all', 'every trace of it (each request, refresh, heal and close), oldest first')
  .option('--json', 'the spans as JSON')
  .addHelpText('after', TRACE_HELP)
  .action(
    run((query: string, opts: { all?: boolean; json?: boolean }) =>
      traceCommand(query, { ...opts, lab: lab() }),
    ),
  );

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
    'delete a pod as Kubernetes would (process and namespace gone, its registration removed, never restarted), or with -f the objects of YAML files from a running lab',
  )
  .argument('[pod]', 'pod name (or the word "pod", as in "nsm delete pod <name>")')
  .argument('[name]', 'pod name after "pod"')
  .option('-f, --filename <path...>', 'remove the objects these YAML files or directories hold')
  .option('--timeout <duration>', 'with -f: how long to wait for replaced pods', '60s')
  .action(
    run(
      (
        kindOrName: string | undefined,
        name: string | undefined,
        opts: { filename?: string[]; timeout: string },
      ) => {
        if (opts.filename) {
          if (kindOrName !== undefined)
            throw new LabPreconditionError('nsm delete: expected either -f <files> or a pod name, not both');
          return applyCommand('delete', opts.filename, { lab: lab(), timeout: opts.timeout });
        }
        if (kindOrName === undefined)
          throw new LabPreconditionError(
            'nsm delete: expected "nsm delete [pod] <name>" or "nsm delete -f <files>"',
          );
        if (name !== undefined && kindOrName !== 'pod')
          throw new LabPreconditionError(`nsm delete ${kindOrName}: expected "nsm delete [pod] <name>"`);
        return deleteCommand(name ?? kindOrName, { lab: lab() });
      },
    ),
  );

program
  .command('identity')
  .description(
    "issue an X.509-SVID from the lab's CA for a workload the lab did not start (your own NSC or NSE, any language), or with --kubeconfig from a cluster's CA",
  )
  .argument('<id>', 'its SPIFFE ID, or the path of one: ns/<namespace>/pod/<name>')
  .requiredOption('-o, --out <dir>', 'directory for svid.pem, svid_key.pem and svid_bundle.pem')
  .option('--lifetime <duration>', 'how long the certificate is valid', '24h')
  .option('--kubeconfig <file>', "from a cluster's mesh CA (the issuer's Secret) instead of the lab's")
  .option('--context <name>', 'with --kubeconfig: the context to use (default: the current one)')
  .option('--ca-secret <namespace/name>', 'with --kubeconfig: the Secret holding the CA', 'nsm-system/nsm-ca')
  .addHelpText(
    'after',
    '\nExamples:\n  nsm identity ns/default/pod/my-nsc --out /tmp/my-nsc\n' +
      '  NSM_IDENTITY_DIR=/tmp/my-nsc NSM_CONNECT_TO=unix:///run/nsm-lab/default/sockets/nsmgr-node-1.sock my-nsc\n' +
      '  nsm identity operator/alice --kubeconfig ~/.kube/config --out ~/.nsm/operator --lifetime 8h',
  )
  .action(
    run(
      (
        id: string,
        opts: { out: string; lifetime: string; kubeconfig?: string; context?: string; caSecret: string },
      ) => identityCommand(id, { ...opts, lab: lab() }),
    ),
  );

program
  .command('ui')
  .description(
    'serve a live topology page of the lab: nodes, pods, interfaces with counters, links coloured by state, service chains',
  )
  .option('--port <port>', 'TCP port to listen on (0: a free one, printed)', '7070')
  .option(
    '--host <address>',
    'address to listen on (keep it loopback; see docs/ui.md for ssh -L)',
    '127.0.0.1',
  )
  .option('--interval <duration>', 'how often the lab is read while a page is open', '250ms')
  .addHelpText(
    'after',
    '\nExamples:\n  nsm ui                      # then open http://127.0.0.1:7070/\n' +
      '  nsm --lab epc ui --port 0   # any free port; the URL is printed\n' +
      '  ssh -L 7070:127.0.0.1:7070 lab-host   # from another machine, then open http://localhost:7070/\n\n' +
      'The page gets the JSON of "nsm status --json" from /api/status and, as server-sent events, from /events.',
  )
  .action(run((opts: UiFlags) => uiCommand({ ...opts, lab: lab() })));

program
  .command('down')
  .description('remove everything the lab created (idempotent; also after a crash)')
  .action(run(() => downCommand({ lab: lab() })));

await program.parseAsync();
