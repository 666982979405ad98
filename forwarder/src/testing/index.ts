/** Test fixtures for suites that build real wires: namespaces, netlink fixtures, two-node fabrics, a cut-down forwarder chain, dpdk-testpmd over memif. */
export * from '../kernel/testing/netns-fixture.js';
export * from '../kernel/testing/netlink-fixture.js';
export * from '../mechanisms/testing/fabric.js';
export * from '../mechanisms/testing/harness.js';
export * from '../mechanisms/testing/inspect.js';
export { TESTPMD, Testpmd, type TestpmdCounts, type TestpmdOptions } from '../memif/testing/testpmd.js';
export { pingFrom } from '../memif/testing/wires.js';
