/** The endpoint role: registers (retrying until its manager answers) and serves until stopped. */
import { createEndpoint, type Endpoint, type EndpointOptions } from '@nsm-ts/sdk';
import type { Logger } from '@nsm-ts/sdk/core';
import { backoffDelay } from '@nsm-ts/sdk/tools';

/** Starts the endpoint; returns its stop function. */
export async function runEndpoint(
  options: Omit<EndpointOptions, 'listenOn' | 'log'> & {
    log: Logger;
    listenOn: string | undefined;
    onRegistered: (e: { name: string; url: string }) => void;
  },
): Promise<() => Promise<void>> {
  const { onRegistered, listenOn, ...rest } = options;
  let endpoint: Endpoint | undefined;
  for (let attempt = 1; !endpoint; attempt++) {
    try {
      endpoint = await createEndpoint({ ...rest, ...(listenOn ? { listenOn } : {}) });
    } catch (err) {
      options.log.warn({ attempt, err: String(err) }, 'registering the endpoint failed; retrying');
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, { initialMs: 200, maxMs: 2000 })));
    }
  }
  onRegistered({ name: endpoint.name, url: endpoint.url });
  const running = endpoint;
  return () => running.close();
}
