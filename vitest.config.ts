import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{sdk,manager,forwarder,registry,cli,proto}/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Namespace suites share the kernel; keep files in separate forks but bounded to the 2 cores.
    pool: 'forks',
    maxWorkers: 2,
    // CI asks for a JSON report beside the console output to print its "N passed, N failed" line.
    ...(process.env['NSM_TEST_REPORT']
      ? { reporters: ['default', ['json', { outputFile: process.env['NSM_TEST_REPORT'] }]] }
      : {}),
  },
});
