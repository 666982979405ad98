import { describe, expect, it } from 'vitest';
import { newEndpoint } from '../../api/builders.js';
import { createContext } from '../../core/context.js';
import { toRegistryHandler } from '../../core/registry-chain.js';
import { nodeLabels } from './nodelabels.js';

const ctx = createContext();

describe('nodeLabels', () => {
  it('adds nodeName and clusterName to every service, creating missing label maps', async () => {
    const handler = toRegistryHandler([nodeLabels({ nodeName: 'node-1', clusterName: 'c1' })]);
    const input = newEndpoint({
      name: 'a',
      network_service_names: ['vpn', 'dns'],
      network_service_labels: { vpn: { labels: { app: 'gw' } } },
    });
    const out = await handler.register(ctx, input);
    expect(out.network_service_labels).toEqual({
      vpn: { labels: { app: 'gw', nodeName: 'node-1', clusterName: 'c1' } },
      dns: { labels: { nodeName: 'node-1', clusterName: 'c1' } },
    });
    // The caller's record is not changed.
    expect(input.network_service_labels).toEqual({ vpn: { labels: { app: 'gw' } } });
  });

  it('keeps labels the NSE set itself', async () => {
    const handler = toRegistryHandler([nodeLabels({ nodeName: 'node-1' })]);
    const out = await handler.register(
      ctx,
      newEndpoint({
        name: 'a',
        network_service_names: ['vpn'],
        network_service_labels: { vpn: { labels: { nodeName: 'elsewhere' } } },
      }),
    );
    expect(out.network_service_labels).toEqual({ vpn: { labels: { nodeName: 'elsewhere' } } });
  });

  it('adds nothing for an empty node name and no cluster', async () => {
    const handler = toRegistryHandler([nodeLabels({ nodeName: '' })]);
    const out = await handler.register(ctx, newEndpoint({ name: 'a', network_service_names: ['vpn'] }));
    expect(out.network_service_labels).toEqual({});
  });
});
