import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadManifests } from './manifests.js';
import { endpointYaml, Fixtures, problemsOf, serviceYaml } from './testing.js';

const fx = new Fixtures();
afterEach(() => fx.cleanup());

const svc = serviceYaml('svc');
const nse = (name: string, cidr: string): string =>
  endpointYaml(name, { NSM_SERVICE_NAMES: 'svc', NSM_CIDR_PREFIX: cidr });
const V4 =
  'expected a unicast prefix outside 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4 and 255.255.255.255/32, such as 10.60.1.0/24';
const V6 = 'expected a unicast prefix outside ::/128, ::1/128, fe80::/10 and ff00::/8, such as fd00::/64';

/** A Deployment of `replicas` endpoints, each named after its pod, handing out `cidr`. */
function nseDeployment(name: string, replicas: number, cidr: string): string {
  return (
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: ${name} }\nspec:\n  replicas: ${replicas}\n` +
    '  selector: { matchLabels: {} }\n  template:\n    spec:\n      containers:\n        - name: a\n' +
    '          env:\n            - { name: NSM_SERVICE_NAMES, value: svc }\n' +
    '            - { name: NSM_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }\n' +
    `            - { name: NSM_CIDR_PREFIX, value: "${cidr}" }\n`
  );
}

function write(docs: string[]): string {
  return join(fx.write({ 'm.yaml': docs.join('---\n') }), 'm.yaml');
}

describe('NSM_CIDR_PREFIX: prefixes no endpoint may hand out', () => {
  it.each([
    [
      '10.60.1.7/32',
      'holds a single address; expected /31 or shorter: point-to-point IPAM needs 2 addresses per connection',
    ],
    [
      'fd00::7/128',
      'holds a single address; expected /127 or shorter: point-to-point IPAM needs 2 addresses per connection',
    ],
    ['224.0.0.0/4', `lies in the multicast range 224.0.0.0/4; ${V4}`],
    ['ff00::/8', `lies in the multicast range ff00::/8; ${V6}`],
    ['127.0.0.0/8', `lies in the loopback range 127.0.0.0/8; ${V4}`],
    ['::1/128', `is the loopback address ::1; ${V6}`],
    ['0.0.0.0/0', `is the default route: it covers every IPv4 address, reserved ranges included; ${V4}`],
    ['::/0', `is the default route: it covers every IPv6 address, reserved ranges included; ${V6}`],
    ['0.0.10.0/24', `lies in the unspecified ("this network") range 0.0.0.0/8; ${V4}`],
    ['169.254.0.0/16', `lies in the link-local range 169.254.0.0/16; ${V4}`],
    ['fe80::/10', `lies in the link-local range fe80::/10; ${V6}`],
    ['255.255.255.255/32', `is the broadcast address 255.255.255.255; ${V4}`],
    ['126.0.0.0/7', `overlaps the loopback range 127.0.0.0/8; ${V4}`],
    ['255.255.255.254/31', `includes the broadcast address 255.255.255.255; ${V4}`],
    ['::/127', `includes the unspecified address :: and the loopback address ::1; ${V6}`],
  ])('refuses %s at its position, naming the range and the expected form', (cidr, problem) => {
    const file = write([svc, nse('e', `10.60.2.0/24,${cidr}`)]);
    expect(problemsOf([file])).toEqual([
      `${fx.at(file, '"10.60.2.0/24,')}: NSM_CIDR_PREFIX: prefix "${cidr}" ${problem}`,
    ]);
  });

  it('accepts the smallest pools and prefixes right beside the reserved ranges', () => {
    const file = write([
      svc,
      nse('a', '172.16.1.100/31, fd00::/127'),
      nse('b', '126.0.0.0/8, 128.0.0.0/8, 169.253.0.0/16, 223.255.255.0/24'),
      nse('c', '1.0.0.0/8, 2001:db8::/64, fec0::/10, ::2/127'),
    ]);
    const plan = loadManifests([file], { nodes: 1 });
    expect(plan.pods.map((p) => p.endpoint?.cidrPrefix)).toEqual([
      ['172.16.1.100/31', 'fd00::/127'],
      ['126.0.0.0/8', '128.0.0.0/8', '169.253.0.0/16', '223.255.255.0/24'],
      ['1.0.0.0/8', '2001:db8::/64', 'fec0::/10', '::2/127'],
    ]);
  });
});

describe('NSM_CIDR_PREFIX: pools shared and overlapping', () => {
  it('lets the replicas of one Deployment share their pool', () => {
    const plan = loadManifests([write([svc, nseDeployment('nse', 3, '10.3.0.0/24')])], { nodes: 2 });
    expect(plan.pods.map((p) => [p.name, p.endpoint?.name, p.endpoint?.cidrPrefix])).toEqual([
      ['nse-1', 'nse-1', ['10.3.0.0/24']],
      ['nse-2', 'nse-2', ['10.3.0.0/24']],
      ['nse-3', 'nse-3', ['10.3.0.0/24']],
    ]);
  });

  it('still refuses pools of distinct Deployments and Pods that overlap', () => {
    const file = write([
      svc,
      nseDeployment('first', 2, '10.3.0.0/24'),
      nseDeployment('second', 2, '10.3.0.128/25'),
      nse('solo', '10.3.0.0/16'),
    ]);
    const hint = 'expected address pools that do not overlap (only replicas of one Deployment share a pool)';
    expect(problemsOf([file])).toEqual([
      `${fx.at(file, '"10.3.0.128/25"')}: NSM_CIDR_PREFIX 10.3.0.128/25 overlaps 10.3.0.0/24 of endpoint "first-1" (${fx.at(file, '"10.3.0.0/24"')}); ${hint}`,
      `${fx.at(file, '"10.3.0.0/16"')}: NSM_CIDR_PREFIX 10.3.0.0/16 overlaps 10.3.0.0/24 of endpoint "first-1" (${fx.at(file, '"10.3.0.0/24"')}); ${hint}`,
    ]);
  });
});
