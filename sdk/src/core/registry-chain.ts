/**
 * Registry chains: the same idea as network service chains, for Register, Find and Unregister of
 * NetworkService and NetworkServiceEndpoint records. Find is a stream (rxjs): a plain query completes,
 * a `watch` query stays open and emits changes.
 */
import { EMPTY, type Observable } from 'rxjs';
import type { NetworkServiceEndpointQuery__Output } from '@nsm-ts/proto/gen/registry/NetworkServiceEndpointQuery.js';
import type { NetworkServiceEndpointResponse__Output } from '@nsm-ts/proto/gen/registry/NetworkServiceEndpointResponse.js';
import type { NetworkServiceQuery__Output } from '@nsm-ts/proto/gen/registry/NetworkServiceQuery.js';
import type { NetworkServiceResponse__Output } from '@nsm-ts/proto/gen/registry/NetworkServiceResponse.js';
import type { NetworkService, NetworkServiceEndpoint } from '../api/types.js';
import type { Context } from './context.js';

export type NetworkServiceEndpointQuery = NetworkServiceEndpointQuery__Output;
export type NetworkServiceEndpointResponse = NetworkServiceEndpointResponse__Output;
export type NetworkServiceQuery = NetworkServiceQuery__Output;
export type NetworkServiceResponse = NetworkServiceResponse__Output;

/** A registry server or client for records `T`, queries `Q` and find responses `R`. */
export interface RegistryHandler<T, Q, R> {
  register(ctx: Context, record: T): Promise<T>;
  find(ctx: Context, query: Q): Observable<R>;
  unregister(ctx: Context, record: T): Promise<void>;
}

/** One link of a registry chain. */
export interface RegistryElement<T, Q, R> {
  register(ctx: Context, record: T, next: RegistryHandler<T, Q, R>): Promise<T>;
  find(ctx: Context, query: Q, next: RegistryHandler<T, Q, R>): Observable<R>;
  unregister(ctx: Context, record: T, next: RegistryHandler<T, Q, R>): Promise<void>;
}

export type NseHandler = RegistryHandler<
  NetworkServiceEndpoint,
  NetworkServiceEndpointQuery,
  NetworkServiceEndpointResponse
>;
export type NseElement = RegistryElement<
  NetworkServiceEndpoint,
  NetworkServiceEndpointQuery,
  NetworkServiceEndpointResponse
>;
export type NsHandler = RegistryHandler<NetworkService, NetworkServiceQuery, NetworkServiceResponse>;
export type NsElement = RegistryElement<NetworkService, NetworkServiceQuery, NetworkServiceResponse>;

/** The end of a registry chain: register echoes, find finds nothing, unregister succeeds. */
export function registryTail<T, Q, R>(): RegistryHandler<T, Q, R> {
  return {
    register: (_ctx, record) => Promise.resolve(record),
    find: () => EMPTY,
    unregister: () => Promise.resolve(),
  };
}

function bind<T, Q, R>(
  elements: readonly RegistryElement<T, Q, R>[],
  index: number,
  last: RegistryHandler<T, Q, R>,
): RegistryHandler<T, Q, R> {
  const element = elements[index];
  if (!element) return last;
  const rest = bind(elements, index + 1, last);
  return {
    register: (ctx, record) => element.register(ctx, record, rest),
    find: (ctx, query) => element.find(ctx, query, rest),
    unregister: (ctx, record) => element.unregister(ctx, record, rest),
  };
}

/** Composes registry elements into one element. */
export function registryChain<T, Q, R>(...elements: RegistryElement<T, Q, R>[]): RegistryElement<T, Q, R> {
  const list = elements.slice();
  return {
    register: (ctx, record, next) => bind(list, 0, next).register(ctx, record),
    find: (ctx, query, next) => bind(list, 0, next).find(ctx, query),
    unregister: (ctx, record, next) => bind(list, 0, next).unregister(ctx, record),
  };
}

/** Composes registry elements into a handler ending in `last` (default: the registry tail). */
export function toRegistryHandler<T, Q, R>(
  elements: RegistryElement<T, Q, R>[],
  last: RegistryHandler<T, Q, R> = registryTail(),
): RegistryHandler<T, Q, R> {
  return bind(elements.slice(), 0, last);
}

/** A registry element from partial methods; what is missing passes through. */
export function registryElement<T, Q, R>(impl: Partial<RegistryElement<T, Q, R>>): RegistryElement<T, Q, R> {
  return {
    register: impl.register ?? ((ctx, record, next) => next.register(ctx, record)),
    find: impl.find ?? ((ctx, query, next) => next.find(ctx, query)),
    unregister: impl.unregister ?? ((ctx, record, next) => next.unregister(ctx, record)),
  };
}
