/**
 * Upstream NSM's SR-IOV config file (`NSM_SRIOV_CONFIG_FILE`): the physical functions this
 * forwarder may hand out VFs of, their drivers, and the pool names they offer.
 */
import { readFileSync } from 'node:fs';

import { parseDocument } from 'yaml';

import { Code, NsmError, invalidArgument } from '@nsm-ts/sdk/core';
import { PCI_ADDRESS_FORM, normalizePciAddress } from './pci-address.js';
import {
  type Problems,
  checkInteger,
  checkKeys,
  checkMapping,
  checkName,
  checkNames,
} from './config-checks.js';

/** A VF listed in the config (upstream lists them; when absent they are discovered from sysfs). */
export interface VirtualFunctionConfig {
  /** PCI address, lowercase: `0000:01:00.1`. */
  readonly address: string;
  readonly iommuGroup: number;
}

/** One entry of `physicalFunctions`. */
export interface PhysicalFunctionConfig {
  /** PCI address of the PF (the map key), lowercase: `0000:01:00.0`. */
  readonly address: string;
  /** The driver the PF must be bound to, e.g. `i40e`. */
  readonly pfKernelDriver: string;
  /** The kernel driver its VFs are bound to for kernel interfaces, e.g. `iavf`. */
  readonly vfKernelDriver: string;
  /** Non-empty, no duplicates. */
  readonly capabilities: readonly string[];
  /** Non-empty, no duplicates. */
  readonly serviceDomains: readonly string[];
  /** Present only when the file lists them. */
  readonly virtualFunctions?: readonly VirtualFunctionConfig[];
}

/** A parsed SR-IOV config. */
export interface SriovConfig {
  /** Where it came from (a file path), for messages. */
  readonly source: string;
  /** In file order. */
  readonly physicalFunctions: readonly PhysicalFunctionConfig[];
}

const EXAMPLE =
  'physicalFunctions: { 0000:01:00.0: { pfKernelDriver, vfKernelDriver, capabilities, serviceDomains } }';
const PF_KEYS = ['pfKernelDriver', 'vfKernelDriver', 'capabilities', 'serviceDomains', 'virtualFunctions'];
const VF_KEYS = ['address', 'iommuGroup'];

/**
 * Parses the YAML text of an SR-IOV config. Every problem (not YAML, wrong types, PCI addresses
 * not `dddd:bb:dd.f`, empty or duplicate capabilities and service domains, unknown keys) is
 * reported in one INVALID_ARGUMENT whose lines name `source`, the field path and the expected form.
 * Usage: `parseSriovConfig(readFileSync(file, 'utf8'), file).physicalFunctions[0]?.capabilities`.
 */
export function parseSriovConfig(text: string, source: string): SriovConfig {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const reasons = doc.errors.map((e) => (e.message.split('\n')[0] ?? '').replace(/:$/, '')).join('; ');
    throw invalidArgument(`SR-IOV config ${source} is not valid YAML: ${reasons}; expected ${EXAMPLE}`);
  }
  const problems: Problems = [];
  const physicalFunctions = readRoot(doc.toJS() as unknown, problems);
  if (problems.length > 0) {
    const count = problems.length === 1 ? '' : ` (${problems.length} problems)`;
    throw invalidArgument(`SR-IOV config ${source} is invalid${count}:\n  ${problems.join('\n  ')}`);
  }
  return { source, physicalFunctions };
}

/**
 * Reads and parses an SR-IOV config file: NOT_FOUND when it is missing, INVALID_ARGUMENT as
 * {@link parseSriovConfig} when it is wrong.
 * Usage: `readSriovConfigFile(process.env['NSM_SRIOV_CONFIG_FILE'] ?? '/etc/nsm/sriov.yaml')`.
 */
export function readSriovConfigFile(path: string): SriovConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new NsmError(
      code === 'ENOENT' ? Code.NOT_FOUND : Code.INVALID_ARGUMENT,
      `SR-IOV config ${path} cannot be read (${code ?? String(err)}): expected a YAML file`,
      { cause: err },
    );
  }
  return parseSriovConfig(text, path);
}

function readRoot(value: unknown, problems: Problems): PhysicalFunctionConfig[] {
  const root = checkMapping(value, '(top level)', `a mapping: ${EXAMPLE}`, problems);
  if (!root) return [];
  checkKeys(root, '', ['physicalFunctions'], problems);
  const pfs = checkMapping(
    root['physicalFunctions'],
    'physicalFunctions',
    'a mapping from PF PCI address to its settings',
    problems,
  );
  if (!pfs) return [];
  if (Object.keys(pfs).length === 0) problems.push('physicalFunctions: is empty, expected at least one PF');
  const seen = new Set<string>();
  const result: PhysicalFunctionConfig[] = [];
  for (const [key, entry] of Object.entries(pfs)) {
    const path = `physicalFunctions["${key}"]`;
    const address = normalizePciAddress(key);
    if (!address) problems.push(`${path}: key "${key}" is not ${PCI_ADDRESS_FORM}`);
    else if (seen.has(address)) problems.push(`${path}: PF ${address} is listed twice, expected once`);
    if (address) seen.add(address);
    const pf = readPf(entry, path, problems);
    if (address && pf) result.push({ address, ...pf });
  }
  return result;
}

function readPf(
  value: unknown,
  path: string,
  problems: Problems,
): Omit<PhysicalFunctionConfig, 'address'> | undefined {
  const pf = checkMapping(value, path, `a mapping with ${PF_KEYS.slice(0, 4).join(', ')}`, problems);
  if (!pf) return undefined;
  checkKeys(pf, path, PF_KEYS, problems);
  const driver = (key: string) =>
    checkName(pf[key], `${path}.${key}`, 'a driver name such as i40e', problems);
  const pfKernelDriver = driver('pfKernelDriver');
  const vfKernelDriver = driver('vfKernelDriver');
  const capabilities = checkNames(pf['capabilities'], `${path}.capabilities`, 'capability', problems);
  const serviceDomains = checkNames(
    pf['serviceDomains'],
    `${path}.serviceDomains`,
    'service domain',
    problems,
  );
  const vfs =
    pf['virtualFunctions'] === undefined ? undefined : readVfs(pf['virtualFunctions'], path, problems);
  if (pfKernelDriver === undefined || vfKernelDriver === undefined) return undefined;
  if (capabilities === undefined || serviceDomains === undefined) return undefined;
  return {
    pfKernelDriver,
    vfKernelDriver,
    capabilities,
    serviceDomains,
    ...(vfs ? { virtualFunctions: vfs } : {}),
  };
}

function readVfs(value: unknown, pfPath: string, problems: Problems): VirtualFunctionConfig[] | undefined {
  const path = `${pfPath}.virtualFunctions`;
  if (!Array.isArray(value)) {
    problems.push(`${path}: is not a list, expected a list of { address, iommuGroup }`);
    return undefined;
  }
  const result: VirtualFunctionConfig[] = [];
  value.forEach((entry: unknown, i) => {
    const at = `${path}[${i}]`;
    const vf = checkMapping(entry, at, 'a mapping { address: 0000:01:00.1, iommuGroup: 1 }', problems);
    if (!vf) return;
    checkKeys(vf, at, VF_KEYS, problems);
    const raw = vf['address'];
    const address = typeof raw === 'string' ? normalizePciAddress(raw) : undefined;
    if (!address)
      problems.push(`${at}.address: ${JSON.stringify(raw) ?? 'missing'} is not ${PCI_ADDRESS_FORM}`);
    else if (result.some((v) => v.address === address))
      problems.push(`${at}.address: ${address} is listed twice`);
    const iommuGroup = checkInteger(vf['iommuGroup'], `${at}.iommuGroup`, problems);
    if (address && iommuGroup !== undefined) result.push({ address, iommuGroup });
  });
  return result;
}
