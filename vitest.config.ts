import { defineConfig } from 'vitest/config';

/** Suites that need root: they build network namespaces, interfaces and whole labs. */
const ROOT = [
  'forwarder/src/kernel/native.test.ts',
  'forwarder/src/kernel/netns.test.ts',
  'forwarder/src/kernel/tap.test.ts',
  'forwarder/src/kernel/netlink/netlink-*.test.ts',
  'forwarder/src/liveness/*.test.ts',
  'forwarder/src/mechanisms/{adopt,audit,bad-input,external,kernel,memif,memif-endpoint,names,sriov,sriov-remote,vfio,vxlan}.test.ts',
  'forwarder/src/mechanisms/tap*.test.ts',
  'forwarder/src/sriov/{rebind,stand-ins}.test.ts',
  'cli/src/lab/**/*.test.ts',
  'test/e2e/**/*.test.ts',
];
/** Suites that run daemons over real gRPC (in process or as processes). */
const MESH = [
  'test/mesh/**/*.test.ts',
  'test/security/**/*.test.ts',
  'test/conformance/**/*.test.ts',
  'test/k8s/**/*.test.ts',
  'test/daemons.test.ts',
  'test/tooling/sdk-package.test.ts',
];
const ALL = ['{sdk,manager,forwarder,registry,cli,proto}/**/*.test.ts', 'test/**/*.test.ts'];

export default defineConfig({
  // Packages import each other by name; in tests, their TypeScript sources (the `source` export
  // condition) rather than their builds.
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    exclude: ['**/dist/**', '**/node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Namespace suites share the kernel; keep files in separate forks but bounded to the 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    // CI asks for a JSON report beside the console output to print its "N passed, N failed" line.
    ...(process.env['NSM_TEST_REPORT']
      ? { reporters: ['default', ['json', { outputFile: process.env['NSM_TEST_REPORT'] }]] }
      : {}),
    projects: [
      { extends: true, test: { name: 'unit', include: ALL, exclude: [...ROOT, ...MESH, '**/dist/**'] } },
      { extends: true, test: { name: 'mesh', include: MESH } },
      { extends: true, test: { name: 'root', include: ROOT } },
    ],
  },
});
