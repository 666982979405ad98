/** Test fixtures for suites that build real wires: namespaces, netlink fixtures, two-node fabrics, a cut-down forwarder chain, dpdk-testpmd over memif, emulated SR-IOV hardware. */
export * from '../kernel/testing/netns-fixture.js';
export * from '../kernel/testing/netlink-fixture.js';
export * from '../mechanisms/testing/fabric.js';
export * from '../mechanisms/testing/harness.js';
export * from '../mechanisms/testing/inspect.js';
export { TESTPMD, Testpmd, type TestpmdCounts, type TestpmdOptions } from '../memif/testing/testpmd.js';
export { pingFrom } from '../memif/testing/wires.js';
export * from '../sriov/testing/fake-sriov.js';
export * from '../sriov/testing/fake-config.js';
export { FAKE_VFIO_NUMBERS } from '../sriov/testing/fake-kernel.js';
export * from '../sriov/testing/pool-fixture.js';
