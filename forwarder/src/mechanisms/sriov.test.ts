/**
 * KERNEL with SR-IOV VFs, as root, on emulated hardware (a sysfs tree whose driver binds an
 * emulated kernel honours, with macvlans on a veth "PF" standing in for the VF netdevs): a client
 * and an endpoint with tokens each get a VF moved into their pod, renamed, addressed and routed, and
 * ping each other through the "NIC"; close gives both VFs back to the node under their original
 * names and to the pool. Refusals name what is missing and leave every VF where it was.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newMechanism } from '@nsm-ts/sdk/api';
import { Code, createContext, metadata, toHandler } from '@nsm-ts/sdk/core';
import { begin, exposeNextHopMechanism, mechanisms, nextHopMechanism } from '@nsm-ts/sdk/elements';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';
import { NamespaceFixture, ipIn, randomSuffix, succeedsIn } from '../kernel/testing/netns-fixture.js';
import { createSriovPool, discoverSriov, type SriovPool } from '../sriov/index.js';
import { fakeSriovConfig } from '../sriov/testing/fake-config.js';
import { createFakeSriov } from '../sriov/testing/fake-sriov.js';
import { createKernelDeps } from './deps.js';
import { kernelMechanism } from './kernel.js';
import { returnStrayVfs } from './sriov.js';
import { noopMechanism } from './noop.js';
import { NSE_IP, clientRequest, endpointDouble, rejectionOf } from './testing/harness.js';
import { addressesOf, linksOf } from './testing/inspect.js';

const ctx = createContext();

describe.skipIf(!isRoot)(rootTitle('forwarder/src/mechanisms/sriov'), () => {
  const fx = new NamespaceFixture();
  afterEach(() => fx.cleanup());

  async function setUp(options: { pool?: boolean; vfs?: number } = {}) {
    const node = fx.add('node');
    const hw = createFakeSriov({
      pfs: [
        {
          address: '0000:01:00.0',
          driver: 'i40e',
          vfDriver: 'iavf',
          netdev: { name: 'ens1f0', netns: node.name },
          vfs: options.vfs ?? 2,
        },
      ],
    });
    fx.defer(() => hw.close());
    const inventory = discoverSriov(fakeSriovConfig(hw), { root: hw.root });
    const pool: SriovPool = createSriovPool(inventory, { vfioDir: hw.vfioDir, bindTimeoutMs: 5000 });
    const deps = await createKernelDeps({
      name: `fwd-${randomSuffix()}`,
      tunnelIp: '',
      vxlanPort: 4789,
      nodeNs: node.path,
      adopt: false,
    });
    fx.defer(() => deps.close());
    const [clientToken, endpointToken] = pool.tokens().map((t) => t.id);
    return {
      node,
      hw,
      pool,
      deps,
      clientToken: clientToken!,
      endpointToken: endpointToken!,
      usePool: options.pool ?? true,
    };
  }

  function chain(
    s: Awaited<ReturnType<typeof setUp>>,
    nsePath: string,
    endpointToken: string | undefined,
    nseName: string | undefined = 'nse0',
  ) {
    const endpoint = endpointDouble({
      nsPath: nsePath,
      ...(nseName ? { name: nseName } : {}),
      mutate: (c) => {
        if (endpointToken && c.mechanism) c.mechanism.parameters['tokenID'] = endpointToken;
      },
    });
    const handler = toHandler([
      begin(),
      metadata('server'),
      exposeNextHopMechanism(),
      mechanisms({
        KERNEL: kernelMechanism(s.deps, s.usePool ? { sriov: s.pool } : {}),
        NOOP: noopMechanism(),
      }),
      metadata('client'),
      nextHopMechanism(() => [newMechanism('KERNEL', 'LOCAL')]),
      endpoint,
    ]);
    return { handler, endpoint };
  }

  const vfRequest = (nscPath: string, token: string) =>
    clientRequest(`sv-${randomSuffix()}`, nscPath, {
      mechanism: newMechanism('KERNEL', 'LOCAL', {
        inodeURL: `file://${nscPath}`,
        name: 'nsm0',
        tokenID: token,
      }),
    });
  const nodeNames = (ns: string) =>
    linksOf(ns)
      .map((l) => l.ifname)
      .filter((n) => n.startsWith('ens1f0'))
      .sort();

  it('moves a VF into the client and one into the endpoint, which ping each other; close gives both back by name', async () => {
    const s = await setUp();
    const [nsc, nse] = [fx.add('sc'), fx.add('se')];
    const { handler } = chain(s, nse.path, s.endpointToken);
    const conn = await handler.request(ctx, vfRequest(nsc.path, s.clientToken));
    expect(linksOf(nsc.name).map((l) => [l.ifname, l.linkinfo?.info_kind])).toEqual([['nsm0', 'macvlan']]);
    expect(linksOf(nse.name).map((l) => l.ifname)).toEqual(['nse0']);
    expect(addressesOf(nse.name, 'nse0')).toEqual([`${NSE_IP}/32`]);
    expect(nodeNames(s.node.name)).toEqual(['ens1f0']);
    expect(s.pool.tokens().map((t) => t.holder)).toEqual([`${conn.id}/nsc`, `${conn.id}/nse`]);
    expect(succeedsIn(nsc.name, 'ping', '-c2', '-W2', NSE_IP)).toBe(true);
    // A refresh keeps both VFs where they are.
    await handler.request(ctx, { connection: conn, mechanism_preferences: [] });
    expect(linksOf(nsc.name).map((l) => l.ifname)).toEqual(['nsm0']);
    await handler.close(ctx, conn);
    expect(linksOf(nsc.name)).toEqual([]);
    expect(linksOf(nse.name)).toEqual([]);
    expect(nodeNames(s.node.name)).toEqual(['ens1f0', 'ens1f0v0', 'ens1f0v1']);
    expect(s.pool.tokens().map((t) => t.holder)).toEqual([undefined, undefined]);
  });

  it('a restarted forwarder gives the VFs its previous run left in pods back to the node under their names', async () => {
    const s = await setUp();
    const [nsc, nse] = [fx.add('sc'), fx.add('se')];
    const { handler } = chain(s, nse.path, s.endpointToken);
    await handler.request(ctx, vfRequest(nsc.path, s.clientToken));
    expect(nodeNames(s.node.name)).toEqual(['ens1f0']);
    // The same forwarder (same owner mark) starting again, without the previous run's state.
    const again = await createKernelDeps({
      name: s.deps.owner,
      tunnelIp: '',
      vxlanPort: 4789,
      nodeNs: s.node.path,
      adopt: false,
    });
    fx.defer(() => again.close());
    expect(await returnStrayVfs(again)).toBe(2);
    expect(linksOf(nsc.name)).toEqual([]);
    expect(linksOf(nse.name)).toEqual([]);
    expect(nodeNames(s.node.name)).toEqual(['ens1f0', 'ens1f0v0', 'ens1f0v1']);
    expect(linksOf(s.node.name).filter((l) => l.ifalias?.startsWith('nsm-vf:'))).toEqual([]);
  });

  it('two connections whose clients name their VFs alike close at once: every VF is back under its name', async () => {
    const s = await setUp({ vfs: 4 });
    const [nsc1, nsc2, nse] = [fx.add('s1'), fx.add('s2'), fx.add('se')];
    const { handler } = chain(s, nse.path, undefined, '');
    const ask = (path: string, token: string) => {
      const req = vfRequest(path, token);
      req.connection!.labels = { sriovToken: 'worker.domain/10G' };
      return handler.request(ctx, req);
    };
    const tokens = s.pool.tokens().map((t) => t.id);
    // Tokens from the last VF down, as the lab's device plugin hands them: the endpoint's VFs,
    // taken by pool name, come from the first up.
    const conns = [await ask(nsc1.path, tokens[3]!), await ask(nsc2.path, tokens[2]!)];
    expect([linksOf(nsc1.name), linksOf(nsc2.name)].map((l) => l.map((x) => x.ifname))).toEqual([
      ['nsm0'],
      ['nsm0'],
    ]);
    await Promise.all(conns.map((c) => handler.close(ctx, c)));
    expect(nodeNames(s.node.name)).toEqual(['ens1f0', 'ens1f0v0', 'ens1f0v1', 'ens1f0v2', 'ens1f0v3']);
    expect(linksOf(s.node.name).filter((l) => l.ifalias?.startsWith('nsm-vf:'))).toEqual([]);
  });

  it('gives the VFs back when the client pod has the interface name taken', async () => {
    const s = await setUp();
    const [nsc, nse] = [fx.add('sc'), fx.add('se')];
    ipIn(nsc.name, 'link', 'add', 'nsm0', 'type', 'veth', 'peer', 'name', 'y0');
    const { handler, endpoint } = chain(s, nse.path, s.endpointToken);
    const err = await rejectionOf(handler.request(ctx, vfRequest(nsc.path, s.clientToken)));
    expect(err.code).toBe(Code.ALREADY_EXISTS);
    expect(endpoint.closes).toBe(1);
    expect(nodeNames(s.node.name)).toEqual(['ens1f0', 'ens1f0v0', 'ens1f0v1']);
    expect(linksOf(nse.name)).toEqual([]);
    expect(s.pool.tokens().map((t) => t.holder)).toEqual([undefined, undefined]);
  });

  it('gives an endpoint without a token of its own a VF of the pool the client labels; refuses one without that label, and a forwarder without SR-IOV config', async () => {
    const s = await setUp();
    const [nsc, nse] = [fx.add('sc'), fx.add('se')];
    const { handler, endpoint } = chain(s, nse.path, undefined);
    const labelled = vfRequest(nsc.path, s.clientToken);
    labelled.connection!.labels = { sriovToken: 'worker.domain/10G' };
    const conn = await handler.request(ctx, labelled);
    expect(linksOf(nse.name).map((l) => [l.ifname, l.linkinfo?.info_kind])).toEqual([['nse0', 'macvlan']]);
    expect(succeedsIn(nsc.name, 'ping', '-c1', '-W2', NSE_IP)).toBe(true);
    await handler.close(ctx, conn);
    expect(nodeNames(s.node.name)).toEqual(['ens1f0', 'ens1f0v0', 'ens1f0v1']);
    const err = await rejectionOf(handler.request(ctx, vfRequest(nsc.path, s.clientToken)));
    expect(err.code).toBe(Code.FAILED_PRECONDITION);
    expect(err.message).toContain(
      'the endpoint answered KERNEL without tokenID, and the request has no sriovToken label naming the pool',
    );
    expect(endpoint.closes).toBe(2);
    expect(nodeNames(s.node.name)).toEqual(['ens1f0', 'ens1f0v0', 'ens1f0v1']);
    expect(s.pool.tokens().map((t) => t.holder)).toEqual([undefined, undefined]);
    const bare = chain({ ...s, usePool: false }, nse.path, s.endpointToken);
    const none = await rejectionOf(bare.handler.request(ctx, vfRequest(nsc.path, s.clientToken)));
    expect(none.code).toBe(Code.FAILED_PRECONDITION);
    expect(none.message).toContain('this forwarder has no SR-IOV config: set NSM_SRIOV_CONFIG_FILE');
    expect(linksOf(nsc.name)).toEqual([]);
  });
});
