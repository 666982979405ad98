/** Test fixtures for suites that build real wires: namespaces, netlink fixtures, two-node fabrics, a cut-down forwarder chain. */
export * from '../kernel/testing/netns-fixture.js';
export * from '../kernel/testing/netlink-fixture.js';
export * from '../mechanisms/testing/fabric.js';
export * from '../mechanisms/testing/harness.js';
export * from '../mechanisms/testing/inspect.js';
