import { describe, expect, it } from 'vitest';
import { formatClientUrl, parseClientAnnotation } from './client-url.js';

describe('parseClientAnnotation', () => {
  it('reads comma-separated kernel URLs with their labels', () => {
    const { requests, problems } = parseClientAnnotation(
      'kernel://4g-network/nsm-0?app=s11, kernel://4g-network/nsm-1?app=s5s8-c&zone=a%2Db,kernel://other/eth1',
    );
    expect(problems).toEqual([]);
    expect(requests).toEqual([
      { mechanism: 'KERNEL', service: '4g-network', ifname: 'nsm-0', labels: { app: 's11' } },
      {
        mechanism: 'KERNEL',
        service: '4g-network',
        ifname: 'nsm-1',
        labels: { app: 's5s8-c', zone: 'a-b' },
      },
      { mechanism: 'KERNEL', service: 'other', ifname: 'eth1', labels: {} },
    ]);
  });

  it('reads memif:// as a MEMIF request, and writes each request back as its URL', () => {
    const text = 'memif://memif2memif/nsm-1?app=dpdk, kernel://other/eth1';
    const { requests, problems } = parseClientAnnotation(text);
    expect(problems).toEqual([]);
    expect(requests.map((r) => r.mechanism)).toEqual(['MEMIF', 'KERNEL']);
    expect(requests.map(formatClientUrl)).toEqual([
      'memif://memif2memif/nsm-1?app=dpdk',
      'kernel://other/eth1?',
    ]);
    expect(parseClientAnnotation(requests.map(formatClientUrl).join(',')).requests).toEqual(requests);
  });

  it('reads tap:// as a KERNEL request for a tap, and writes it back as tap://', () => {
    const { requests, problems } = parseClientAnnotation('tap://vm-net/net0?app=vm, kernel://other/eth1');
    expect(problems).toEqual([]);
    expect(requests).toEqual([
      { mechanism: 'KERNEL', service: 'vm-net', ifname: 'net0', labels: { app: 'vm' }, tap: true },
      { mechanism: 'KERNEL', service: 'other', ifname: 'eth1', labels: {} },
    ]);
    expect(requests.map(formatClientUrl)).toEqual(['tap://vm-net/net0?app=vm', 'kernel://other/eth1?']);
    expect(parseClientAnnotation(requests.map(formatClientUrl).join(',')).requests).toEqual(requests);
  });

  it('rejects a tap that also asks for an SR-IOV VF', () => {
    const { requests, problems } = parseClientAnnotation('tap://svc/net0?sriovToken=worker.domain/10G');
    expect(requests).toEqual([]);
    expect(problems).toEqual([
      'client URL "tap://svc/net0?sriovToken=worker.domain/10G": asks for a tap and, with sriovToken, for an SR-IOV VF; expected one of them: the tap is the pod\'s interface',
    ]);
  });

  it.each([
    ['vfio://svc/nsm-1', 'mechanism "vfio://" is not supported, only kernel://, memif:// and tap:// are'],
    ['kernel:///nsm-1', 'names no network service'],
    ['kernel://svc', 'names no interface'],
    ['kernel://svc/', 'names no interface'],
    [
      'kernel://svc/averyverylongname',
      'interface name "averyverylongname" is 17 characters long; expected 1-15',
    ],
    ['kernel://svc/bad/name', 'interface name "bad/name" is invalid'],
    ['kernel://Svc_1/nsm-1', 'network service "Svc_1" is not a valid name; expected a DNS-1123 label'],
    ['kernel://svc/nsm-1?app', 'bad query parameter "app"; expected key=value'],
    ['kernel://svc/nsm-1?=x', 'bad query parameter "=x"'],
    ['kernel://svc/nsm-1?a=%zz', 'bad query parameter "a=%zz"'],
    ['kernel://svc/nsm-1?a=1&a=2', 'label "a" is given twice in the query'],
    ['kernel://svc/nsm-1?app=no spaces', 'has an invalid value "no spaces"'],
    ['kernel://svc/nsm-1?-bad=x', 'has an invalid key "-bad"'],
    ['svc/nsm-1', '"svc/nsm-1" is not a URL; expected kernel://<service>/<ifname>'],
  ])('rejects %s', (url, fragment) => {
    const { requests, problems } = parseClientAnnotation(url);
    expect(requests).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(fragment);
    expect(problems[0]).toContain('expected');
  });

  it('rejects an interface name used twice in one pod, and empty entries', () => {
    expect(parseClientAnnotation('kernel://a/nsm-1,kernel://b/nsm-1').problems).toEqual([
      'client URL "kernel://b/nsm-1": interface name "nsm-1" is used twice in this pod; expected a different name per request',
    ]);
    expect(parseClientAnnotation('kernel://a/nsm-1,,kernel://a/nsm-2').problems[0]).toContain('empty entry');
    expect(parseClientAnnotation('  ').problems[0]).toContain('annotation networkservicemesh.io is empty');
  });

  it('keeps the good requests when another URL is bad', () => {
    const { requests, problems } = parseClientAnnotation('kernel://a/nsm-1,vfio://a/nsm-2');
    expect(requests.map((r) => r.ifname)).toEqual(['nsm-1']);
    expect(problems).toHaveLength(1);
  });
});
