/** Registering NetworkService records in a mesh, as a user's YAML would. */
import { createContext } from '../../sdk/src/core/context.js';
import type { NetworkService } from '../../sdk/src/api/types.js';
import { dial } from '../../sdk/src/grpc/client.js';
import type { Mesh } from './mesh.js';

/** Registers `service` with the mesh's registry. Usage: `await registerService(mesh, { name: 'db' })`. */
export async function registerService(
  mesh: Mesh,
  service: Partial<NetworkService> & { name: string },
): Promise<NetworkService> {
  const client = dial(mesh.registryUrl);
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
