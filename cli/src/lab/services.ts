/** The lab's NetworkServices in the registry: registered at `up`, again whenever the registry restarts. */
import type { NetworkService } from '../../../sdk/src/api/types.js';
import { createContext } from '../../../sdk/src/core/context.js';
import { dial } from '../../../sdk/src/grpc/client.js';
import type { Lab } from './lab.js';

/** Registers `services` with the lab's registry. */
export async function registerServices(lab: Lab, services: NetworkService[]): Promise<void> {
  const registry = dial(lab.socket('registry'));
  try {
    for (const service of services)
      await registry.serviceRegistry.register(createContext({ deadline: Date.now() + 5000 }), service);
  } finally {
    registry.close();
  }
}
