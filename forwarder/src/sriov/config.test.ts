import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { Code, NsmError } from '@nsm-ts/sdk/core';
import { parseSriovConfig, readSriovConfigFile } from './config.js';

const SOURCE = '/etc/nsm/sriov.yaml';

const GOOD = `
physicalFunctions:
  0000:01:00.0:
    pfKernelDriver: i40e
    vfKernelDriver: iavf
    capabilities: [intel, 10G]
    serviceDomains: [worker.domain]
    virtualFunctions:
      - address: 0000:01:00.1
        iommuGroup: 1
      - address: 0000:01:00.2
        iommuGroup: 2
  0000:3B:00.0:
    pfKernelDriver: ice
    vfKernelDriver: iavf
    capabilities:
      - 25G
    serviceDomains:
      - worker.domain
      - other.domain
`;

/** The error a config gives; fails when it parses. */
function errorOf(text: string): NsmError {
  try {
    parseSriovConfig(text, SOURCE);
  } catch (err) {
    expect(err).toBeInstanceOf(NsmError);
    return err as NsmError;
  }
  throw new Error('expected the config to be refused');
}

/** A config with one PF whose settings are `pf` (YAML lines indented by 4). */
function onePf(pf: string, address = '0000:01:00.0'): string {
  return `physicalFunctions:\n  ${address}:\n${pf
    .trim()
    .split('\n')
    .map((l) => `    ${l.trim()}`)
    .join('\n')}\n`;
}

const BASE =
  'pfKernelDriver: i40e\nvfKernelDriver: iavf\ncapabilities: [10G]\nserviceDomains: [worker.domain]';

describe('parseSriovConfig', () => {
  it('reads the upstream format: PFs in file order, addresses in sysfs spelling, VFs only when listed', () => {
    expect(parseSriovConfig(GOOD, SOURCE)).toEqual({
      source: SOURCE,
      physicalFunctions: [
        {
          address: '0000:01:00.0',
          pfKernelDriver: 'i40e',
          vfKernelDriver: 'iavf',
          capabilities: ['intel', '10G'],
          serviceDomains: ['worker.domain'],
          virtualFunctions: [
            { address: '0000:01:00.1', iommuGroup: 1 },
            { address: '0000:01:00.2', iommuGroup: 2 },
          ],
        },
        {
          address: '0000:3b:00.0',
          pfKernelDriver: 'ice',
          vfKernelDriver: 'iavf',
          capabilities: ['25G'],
          serviceDomains: ['worker.domain', 'other.domain'],
        },
      ],
    });
  });

  it.each([
    [
      'not YAML',
      'physicalFunctions: [0000:01:00.0',
      /is not valid YAML: .*line 1.*expected physicalFunctions:/,
    ],
    ['an empty file', '', /\(top level\): is empty \(null\), expected a mapping: physicalFunctions:/],
    ['a list at the top', '- a\n- b\n', /\(top level\): is a list, expected a mapping/],
    [
      'an unknown top-level key',
      `${onePf(BASE)}extra: 1\n`,
      /extra: unknown key, expected one of physicalFunctions/,
    ],
    ['no PFs', 'physicalFunctions: {}\n', /physicalFunctions: is empty, expected at least one PF/],
    [
      'a PF that is a list',
      'physicalFunctions:\n  0000:01:00.0: [i40e]\n',
      /physicalFunctions\["0000:01:00.0"\]: is a list, expected a mapping with pfKernelDriver/,
    ],
    [
      'a short PCI address',
      onePf(BASE, '01:00.0'),
      /physicalFunctions\["01:00.0"\]: key "01:00.0" is not a PCI address dddd:bb:dd.f/,
    ],
    [
      'a PCI function above 7',
      onePf(BASE, '0000:01:00.8'),
      /key "0000:01:00.8" is not a PCI address dddd:bb:dd.f \(hex domain:bus:device.function, e.g. 0000:01:00.0\)/,
    ],
    ['a PCI device above 1f', onePf(BASE, '0000:01:20.0'), /key "0000:01:20.0" is not a PCI address/],
    [
      'a PF listed twice in two spellings',
      `${onePf(BASE, '0000:3b:00.0')}${onePf(BASE, '0000:3B:00.0').replace('physicalFunctions:\n', '')}`,
      /physicalFunctions\["0000:3B:00.0"\]: PF 0000:3b:00.0 is listed twice, expected once/,
    ],
    [
      'a missing pfKernelDriver',
      onePf('vfKernelDriver: iavf\ncapabilities: [10G]\nserviceDomains: [d]'),
      /\["0000:01:00.0"\]\.pfKernelDriver: is missing, expected a driver name such as i40e/,
    ],
    [
      'a driver name with a slash',
      onePf(BASE.replace('vfKernelDriver: iavf', 'vfKernelDriver: a/b')),
      /\.vfKernelDriver: is "a\/b", expected a driver name such as i40e \(non-empty, without '\/', ',' or spaces\)/,
    ],
    [
      'empty capabilities',
      onePf(BASE.replace('capabilities: [10G]', 'capabilities: []')),
      /\["0000:01:00.0"\]\.capabilities: is an empty list, expected a non-empty list of capability names, e.g. \[intel, 10G\]/,
    ],
    [
      'missing serviceDomains',
      onePf(BASE.replace('serviceDomains: [worker.domain]', '')),
      /\.serviceDomains: is missing, expected a non-empty list of service domain names, e.g. \[worker.domain\]/,
    ],
    [
      'serviceDomains as a string',
      onePf(BASE.replace('serviceDomains: [worker.domain]', 'serviceDomains: worker.domain')),
      /\.serviceDomains: is a string \("worker.domain"\), expected a non-empty list of service domain names/,
    ],
    [
      'a numeric capability',
      onePf(BASE.replace('capabilities: [10G]', 'capabilities: [40]')),
      /\.capabilities\[0\]: is a number \(40\), expected a capability name as a string \(quote it: "40"\)/,
    ],
    [
      'a duplicate capability',
      onePf(BASE.replace('capabilities: [10G]', 'capabilities: [10G, 10G]')),
      /\.capabilities\[1\]: "10G" is listed twice, expected each capability once/,
    ],
    [
      'an unknown PF key',
      onePf(`${BASE}\nvfDriver: iavf`),
      /\["0000:01:00.0"\]\.vfDriver: unknown key, expected one of pfKernelDriver, vfKernelDriver, capabilities, serviceDomains, virtualFunctions/,
    ],
    [
      'virtualFunctions as a mapping',
      onePf(`${BASE}\nvirtualFunctions: { address: 0000:01:00.1 }`),
      /\.virtualFunctions: is not a list, expected a list of \{ address, iommuGroup \}/,
    ],
    [
      'a VF with a bad address',
      onePf(`${BASE}\nvirtualFunctions: [{ address: 1, iommuGroup: 1 }]`),
      /\.virtualFunctions\[0\]\.address: 1 is not a PCI address dddd:bb:dd.f/,
    ],
    [
      'a VF with a negative group',
      onePf(`${BASE}\nvirtualFunctions: [{ address: 0000:01:00.1, iommuGroup: -1 }]`),
      /\.virtualFunctions\[0\]\.iommuGroup: is a number \(-1\), expected an IOMMU group number \(0 or more\)/,
    ],
    [
      'a VF with an unknown key',
      onePf(`${BASE}\nvirtualFunctions: [{ address: 0000:01:00.1, iommuGroup: 1, driver: iavf }]`),
      /\.virtualFunctions\[0\]\.driver: unknown key, expected one of address, iommuGroup/,
    ],
  ])(
    'refuses %s with an INVALID_ARGUMENT naming the file, the field and the expected form',
    (_, text, message) => {
      const err = errorOf(text);
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toContain(SOURCE);
      expect(err.message).toMatch(message);
    },
  );

  it('reports every problem of a file at once', () => {
    const err = errorOf(onePf('pfKernelDriver: 1\ncapabilities: []\nserviceDomains: [a/b]\ncolour: red'));
    expect(err.message).toMatch(/\(5 problems\)/);
    for (const field of ['pfKernelDriver', 'vfKernelDriver', 'capabilities', 'serviceDomains[0]', 'colour']) {
      expect(err.message).toContain(`physicalFunctions["0000:01:00.0"].${field}:`);
    }
  });
});

describe('readSriovConfigFile', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('parses a file and names it in errors; a missing file is NOT_FOUND', () => {
    dir = mkdtempSync(join(tmpdir(), 'nsm-sriov-config-'));
    const file = join(dir, 'sriov.yaml');
    writeFileSync(file, GOOD);
    expect(readSriovConfigFile(file).source).toBe(file);
    writeFileSync(file, onePf(BASE.replace('capabilities: [10G]', 'capabilities: []')));
    expect(() => readSriovConfigFile(file)).toThrow(`SR-IOV config ${file} is invalid`);
    expect(() => readSriovConfigFile(join(dir ?? '', 'absent.yaml'))).toThrow(
      expect.objectContaining({
        code: Code.NOT_FOUND,
        message: expect.stringContaining('absent.yaml cannot be read (ENOENT)') as unknown,
      }),
    );
  });
});
