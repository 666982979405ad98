/** The lab's NetworkServices in the registry: registered at `up`, again whenever the registry restarts. */
import type { NetworkService } from '@nsm-ts/sdk/api';
import { createContext } from '@nsm-ts/sdk/core';
import { labDial } from './identities.js';
import type { Lab } from './lab.js';

/** Registers `services` with the lab's registry (as the lab's operator, who owns their names). */
export async function registerServices(lab: Lab, services: NetworkService[]): Promise<void> {
  const registry = await labDial(lab, lab.socket('registry'));
  try {
    for (const service of services)
      await registry.serviceRegistry.register(createContext({ deadline: Date.now() + 5000 }), service);
  } finally {
    registry.close();
  }
}
