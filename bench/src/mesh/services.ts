/** Registering NetworkService records in a mesh, as a user's YAML would. */
import { createContext } from '@nsm-ts/sdk/core';
import type { NetworkService } from '@nsm-ts/sdk/api';
import type { Mesh } from './mesh.js';

/** Registers `service` with the mesh's registry. Usage: `await registerService(mesh, { name: 'db' })`. */
export async function registerService(
  mesh: Mesh,
  service: Partial<NetworkService> & { name: string },
): Promise<NetworkService> {
  const client = mesh.dial(mesh.registryUrl);
  try {
    return await client.serviceRegistry.register(createContext(), {
      payload: 'IP',
      matches: [],
      path_ids: [],
      ...service,
    });
  } finally {
    client.close();
  }
}
