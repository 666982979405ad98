/**
 * Metrics of a registry chain (the registry daemon's, the manager's registry proxy): registrations
 * and unregistrations by kind, result and gRPC code, and the policy refusals among them.
 */
import { Counter, type Registry } from 'prom-client';
import { registryElement, type RegistryElement } from '../core/registry-chain.js';
import { codeName, NsmError } from '../core/errors.js';
import { PolicyRefusal } from '../security/policies.js';
import { policyRefusals } from './chain.js';

/** What the registry products take to measure themselves (see `createRegistryServer({ metrics })`). */
export interface RegistryChainMetrics {
  /** The counting element for records of `kind`; first in the chain. */
  element<T, Q, R>(kind: 'nse' | 'ns'): RegistryElement<T, Q, R>;
}

/** Registers the registry-chain metrics on `registry`. Usage: `createRegistryServer({ metrics: registryChainMetrics(registry) })`. */
export function registryChainMetrics(registry: Registry): RegistryChainMetrics {
  const calls = new Counter({
    name: 'nsm_registry_calls_total',
    help: 'Register and Unregister calls this registry hop answered, by kind (nse, ns), operation, result (ok, error) and gRPC code',
    labelNames: ['kind', 'op', 'result', 'code'],
    registers: [registry],
  });
  const refusals = policyRefusals(registry);
  return {
    element<T, Q, R>(kind: 'nse' | 'ns'): RegistryElement<T, Q, R> {
      const counted = async <V>(op: string, call: () => Promise<V>): Promise<V> => {
        try {
          const out = await call();
          calls.inc({ kind, op, result: 'ok', code: 'OK' });
          return out;
        } catch (err) {
          calls.inc({ kind, op, result: 'error', code: codeName(NsmError.from(err).code) });
          if (err instanceof PolicyRefusal) refusals.inc({ api: 'registry', policy: err.policy });
          throw err;
        }
      };
      return registryElement<T, Q, R>({
        register: (ctx, record, next) => counted('register', () => next.register(ctx, record)),
        unregister: (ctx, record, next) => counted('unregister', () => next.unregister(ctx, record)),
      });
    },
  };
}
