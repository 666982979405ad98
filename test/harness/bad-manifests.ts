/**
 * Invalid manifest sets for the `nsm up` error suites: a valid base (a service, an endpoint on node-1,
 * a client on node-2) and variants with one or more mistakes, each with the `file:line:col: message`
 * lines `nsm up` must print.
 */
import { join } from 'node:path';

/** A valid manifest set: file name → YAML. */
export const base: Record<string, string> = {
  'service.yaml': `apiVersion: networkservicemesh.io/v1
kind: NetworkService
metadata:
  name: svc
spec:
  payload: ETHERNET
`,
  'nse.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: nse
spec:
  nodeName: node-1
  containers:
    - name: c
      image: x
      env:
        - name: NSM_SERVICE_NAMES
          value: svc
        - name: NSM_CIDR_PREFIX
          value: 10.72.0.0/24
`,
  'nsc.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: nsc
  annotations:
    networkservicemesh.io: kernel://svc/nsm-1
spec:
  nodeName: node-2
  containers:
    - name: c
      image: x
`,
};

/** A document of a kind nobody knows. */
const gadget = `apiVersion: v1
kind: Gadget
metadata:
  name: thing
`;

/** One invalid manifest set and the problems `nsm up` must report, in order. */
export interface BadCase {
  what: string;
  files: Record<string, string>;
  /** [file, text on the line, token whose column is reported, message after "file:line:col: " ({file|text|token} is a position)]. */
  problems: [string, string, string, string][];
}

/** `base` with `from` replaced by `to` in `file`. */
const edit = (file: string, from: string, to: string): Record<string, string> => ({
  ...base,
  [file]: base[file]!.replace(from, to),
});

/** Every invalid manifest set of the suite. */
export const cases: BadCase[] = [
  {
    what: 'an unknown kind',
    files: { ...base, 'gadget.yaml': gadget },
    problems: [['gadget.yaml', 'kind: Gadget', 'Gadget', 'unknown kind "Gadget"']],
  },
  {
    what: 'a bad CIDR',
    files: edit('nse.yaml', '10.72.0.0/24', '10.72.0.0/33'),
    problems: [['nse.yaml', '10.72.0.0/33', '10.72.0.0/33', 'NSM_CIDR_PREFIX: invalid CIDR "10.72.0.0/33"']],
  },
  {
    what: 'a bad client URL',
    files: edit('nsc.yaml', 'kernel://svc/nsm-1', 'http://svc/nsm-1'),
    problems: [['nsc.yaml', 'http://svc/nsm-1', 'http://', 'client URL "http://svc/nsm-1"']],
  },
  {
    what: 'an interface name longer than 15 characters',
    files: edit('nsc.yaml', 'kernel://svc/nsm-1', 'kernel://svc/a-very-long-ifname'),
    problems: [
      [
        'nsc.yaml',
        'kernel://',
        'kernel://',
        'client URL "kernel://svc/a-very-long-ifname": interface name "a-very-long-ifname" is 18 characters long',
      ],
    ],
  },
  {
    what: 'a service no NetworkService defines',
    files: edit('nsc.yaml', 'kernel://svc/nsm-1', 'kernel://nope/nsm-1'),
    problems: [
      [
        'nsc.yaml',
        'kernel://',
        'kernel://',
        'client requests network service "nope", which no NetworkService defines; expected one of: svc',
      ],
    ],
  },
  {
    what: 'node-3 on a lab of 2 nodes',
    files: edit('nse.yaml', 'node-1', 'node-3'),
    problems: [
      [
        'nse.yaml',
        'nodeName: node-3',
        'node-3',
        'node "node-3" does not exist; expected one of node-1, node-2',
      ],
    ],
  },
  {
    what: 'duplicate pod names',
    files: { ...base, 'nse2.yaml': base['nse.yaml']! },
    problems: [
      ['nse2.yaml', 'name: nse', 'nse', 'Pod "nse" is defined twice (first at {nse.yaml|name: nse|nse})'],
    ],
  },
  {
    what: 'all of these at once (every problem is reported)',
    files: {
      ...edit('nse.yaml', '10.72.0.0/24', '10.72.0.0/33'),
      'gadget.yaml': gadget,
      'nsc.yaml': base['nsc.yaml']!.replace('kernel://svc/nsm-1', 'http://svc/nsm-1').replace(
        'node-2',
        'node-3',
      ),
    },
    problems: [
      ['gadget.yaml', 'kind: Gadget', 'Gadget', 'unknown kind "Gadget"'],
      ['nsc.yaml', 'http://svc/nsm-1', 'http://', 'client URL "http://svc/nsm-1"'],
      ['nsc.yaml', 'nodeName: node-3', 'node-3', 'node "node-3" does not exist'],
      ['nse.yaml', '10.72.0.0/33', '10.72.0.0/33', 'NSM_CIDR_PREFIX: invalid CIDR "10.72.0.0/33"'],
    ],
  },
];

/** `<dir>/<file>:<line>:<col>` of `token` on the first line of `file` that contains `text`. */
export function position(
  dir: string,
  files: Record<string, string>,
  file: string,
  text: string,
  token: string,
): string {
  const lines = files[file]!.split('\n');
  const index = lines.findIndex((l) => l.includes(text));
  if (index < 0) throw new Error(`test bug: "${text}" is not in ${file}`);
  return `${join(dir, file)}:${index + 1}:${lines[index]!.indexOf(token) + 1}`;
}

/** The `file:line:col: message` prefixes `nsm up` must print for `c` written to `dir`. */
export function expectedProblems(dir: string, c: BadCase): string[] {
  return c.problems.map(([file, text, token, message]) => {
    const resolved = message.replace(
      /\{([^|}]+)\|([^|}]+)\|([^}]+)\}/,
      (_, f: string, t: string, k: string) => position(dir, c.files, f, t, k),
    );
    return `${position(dir, c.files, file, text, token)}: ${resolved}`;
  });
}
