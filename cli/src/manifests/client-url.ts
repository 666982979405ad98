/**
 * The client annotation `networkservicemesh.io: kernel://<service>/<ifname>?k=v&k2=v2[,more]`, as the
 * upstream admission webhook reads it: one request per URL, its query being the connection labels.
 * The scheme is the mechanism: `kernel://` a kernel interface, `memif://` a memif (a shared-memory
 * interface the pod's program opens on the socket the forwarder names), and, ours, `tap://` a
 * KERNEL interface that is a tap for a VM in the pod (the connection's addresses are the guest's).
 */
import { VF_SETTING_LABELS, vfSettingProblem } from '@nsm-ts/sdk/elements';
import { dnsLabelProblem, interfaceNameProblem, labelProblems } from './names.js';

/** The annotation key that makes a pod a client. */
export const CLIENT_ANNOTATION = 'networkservicemesh.io';

/**
 * Ours: `external` leaves each memif:// connection's memif to a program the user attaches (DPDK's
 * net_memif, say) instead of the lab's role; `role` (the default) has the role open it.
 */
export const MEMIF_ANNOTATION = 'nsm-ts.io/memif';

/** The query key that asks for an SR-IOV VF of a pool (the SDK turns it into a token). */
const SRIOV_TOKEN = 'sriovToken';

/** The mechanisms a client URL can ask for, by scheme. */
export const URL_MECHANISMS = { kernel: 'KERNEL', memif: 'MEMIF', tap: 'KERNEL' } as const;

/** One request of a client pod. */
export interface ClientRequest {
  /** KERNEL (`kernel://`, `tap://`) or MEMIF (`memif://`). */
  mechanism: (typeof URL_MECHANISMS)[keyof typeof URL_MECHANISMS];
  service: string;
  ifname: string;
  labels: Record<string, string>;
  /** `tap://`: the KERNEL interface is a tap, made with the SDK's defaults (root may attach). */
  tap?: true;
}

const FORM = 'expected kernel://<service>/<ifname>[?key=value&key2=value2] (or memif://..., tap://...)';
const urlPattern = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/;

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function parseQuery(query: string, problems: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of query.split('&').filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq > 0 ? decode(part.slice(0, eq)) : undefined;
    const value = eq > 0 ? decode(part.slice(eq + 1)) : undefined;
    if (key === undefined || value === undefined) {
      problems.push(`bad query parameter "${part}"; expected key=value (percent-encoded)`);
    } else if (Object.hasOwn(labels, key)) {
      problems.push(`label "${key}" is given twice in the query; expected each label once`);
    } else {
      labels[key] = value;
    }
  }
  // sriovToken names an SR-IOV pool, <serviceDomain>/<capability>, as upstream: not a label value.
  // mac (a VF's MAC, set through its PF) is written aa:bb:cc:dd:ee:ff: not a label value either.
  const { [SRIOV_TOKEN]: pool, mac, ...plain } = labels;
  for (const key of VF_SETTING_LABELS) {
    const value = labels[key];
    const problem = value === undefined ? undefined : vfSettingProblem(key, value);
    if (problem) problems.push(`query["${key}"] ${problem}`);
  }
  if (mac !== undefined && pool === undefined)
    problems.push(
      `query["mac"] asks for a VF's MAC, but the query has no ${SRIOV_TOKEN}; expected it beside ${SRIOV_TOKEN}=<pool>`,
    );
  if (pool !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/.test(pool))
    problems.push(
      `query["${SRIOV_TOKEN}"] is "${pool}"; expected an SR-IOV pool <serviceDomain>/<capability> such as worker.domain/10G`,
    );
  problems.push(...labelProblems(plain, 'query'));
  return labels;
}

function parseUrl(url: string, problems: string[]): ClientRequest | undefined {
  const m = urlPattern.exec(url);
  if (!m) {
    problems.push(`"${url}" is not a URL; ${FORM}`);
    return undefined;
  }
  const [, scheme = '', service = '', ifname, query = ''] = m;
  const own: string[] = [];
  const key = scheme.toLowerCase();
  const mechanism = Object.hasOwn(URL_MECHANISMS, key)
    ? URL_MECHANISMS[key as keyof typeof URL_MECHANISMS]
    : undefined;
  if (!mechanism) {
    own.push(`mechanism "${scheme}://" is not supported, only kernel://, memif:// and tap:// are; ${FORM}`);
  }
  if (service === '') own.push(`names no network service; ${FORM}`);
  else {
    const bad = dnsLabelProblem(service, 'network service');
    if (bad) own.push(bad);
  }
  if (ifname === undefined || ifname === '') own.push(`names no interface; ${FORM}`);
  else {
    const bad = interfaceNameProblem(ifname);
    if (bad) own.push(bad);
  }
  const labels = parseQuery(query, own);
  const tap = key === 'tap';
  if (tap && labels[SRIOV_TOKEN] !== undefined)
    own.push(
      `asks for a tap and, with ${SRIOV_TOKEN}, for an SR-IOV VF; expected one of them: the tap is the pod's interface`,
    );
  problems.push(...own.map((p) => `client URL "${url}": ${p}`));
  if (own.length > 0 || !mechanism) return undefined;
  return { mechanism, service, ifname: ifname ?? '', labels, ...(tap ? { tap: true as const } : {}) };
}

/**
 * Parses the annotation value: comma-separated URLs, each checked; interface names must differ
 * within the pod. Problems are messages naming the URL and the expected form.
 * Usage: `const { requests, problems } = parseClientAnnotation('kernel://4g-network/nsm-0?app=s6a')`.
 */
export function parseClientAnnotation(text: string): { requests: ClientRequest[]; problems: string[] } {
  const problems: string[] = [];
  const requests: ClientRequest[] = [];
  const urls = text.split(',').map((u) => u.trim());
  if (urls.every((u) => u === '')) {
    return { requests, problems: [`annotation ${CLIENT_ANNOTATION} is empty; ${FORM}, comma-separated`] };
  }
  for (const url of urls) {
    if (url === '') {
      problems.push(`annotation ${CLIENT_ANNOTATION} has an empty entry between commas; ${FORM}`);
      continue;
    }
    const request = parseUrl(url, problems);
    if (!request) continue;
    if (requests.some((r) => r.ifname === request.ifname)) {
      problems.push(
        `client URL "${url}": interface name "${request.ifname}" is used twice in this pod; expected a different name per request`,
      );
      continue;
    }
    requests.push(request);
  }
  return { requests, problems };
}

/** The URL of one request, as `parseClientAnnotation` reads it back. */
export function formatClientUrl(r: ClientRequest): string {
  const scheme = r.tap ? 'tap' : r.mechanism === 'MEMIF' ? 'memif' : 'kernel';
  return `${scheme}://${r.service}/${r.ifname}?${new URLSearchParams(r.labels).toString()}`;
}
