#!/usr/bin/env node
// Regenerates the TypeScript types in proto/gen from the .proto files.
// Usage: node scripts/gen-proto.mjs [outDir]   (default: proto/gen)
// The options here must match the loader options in proto/src/loader.ts.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'proto/gen'));
const require = createRequire(import.meta.url);
const generator = join(
  dirname(require.resolve('@grpc/proto-loader/package.json')),
  'build/bin/proto-loader-gen-types.js',
);
const files = [
  'networkservice/connectioncontext.proto',
  'networkservice/connection.proto',
  'networkservice/networkservice.proto',
  'registry/registry.proto',
  'ipam/ipam.proto',
  'spiffe/workload.proto',
];

rmSync(outDir, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    generator,
    '--keepCase',
    '--longs=String',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--grpcLib=@grpc/grpc-js',
    '--importFileExtension=.js',
    '--includeDirs',
    join(root, 'proto'),
    '--outDir',
    outDir,
    ...files,
  ],
  { stdio: 'inherit', cwd: join(root, 'proto') },
);

// The generator writes the absolute source path into each file; keep the output independent of the checkout.
for (const entry of readdirSync(outDir, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const file = join(entry.parentPath, entry.name);
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replaceAll(`Original file: ${join(root, 'proto')}/`, 'Original file: '));
}
