import { describe, expect, it } from 'vitest';
import { Code, NsmError } from '../../../core/errors.js';
import { matchEndpoints, noEndpointMessage } from './match.js';
import { endpoint, match, networkService } from './testing.js';

const names = (r: ReturnType<typeof matchEndpoints>): string[] => r.candidates.map((c) => c.nse.name);

describe('matchEndpoints', () => {
  const a = endpoint('nse-a', ['svc'], { app: 'a', nodeName: 'node-1' });
  const b = endpoint('nse-b', ['svc'], { app: 'b', nodeName: 'node-2' });
  const c = endpoint('nse-c', ['svc'], { app: 'c', nodeName: 'node-1' });
  const all = [a, b, c];

  it('makes every endpoint a candidate (weight 1) when the service has no matches', () => {
    const result = matchEndpoints(networkService('svc'), all, { app: 'x' });
    expect(result.candidates).toEqual(all.map((nse) => ({ nse, weight: 1 })));
    expect(result.match).toBeUndefined();
  });

  it('uses the first match whose source selector is a subset of the labels', () => {
    const ns = networkService('svc', [
      match({ app: 'x', tier: 'gold' }, [{ app: 'a' }]),
      match({ app: 'x' }, [{ app: 'b' }]),
      match({ app: 'x' }, [{ app: 'c' }]),
    ]);
    const result = matchEndpoints(ns, all, { app: 'x', tier: 'silver' });
    expect(names(result)).toEqual(['nse-b']);
    expect(result.match).toBe(ns.matches[1]);
    expect(names(matchEndpoints(ns, all, { app: 'x', tier: 'gold' }))).toEqual(['nse-a']);
  });

  it('treats an empty source selector as a catch-all', () => {
    const ns = networkService('svc', [match({ app: 'x' }, [{ app: 'a' }]), match({}, [{ app: 'c' }])]);
    expect(names(matchEndpoints(ns, all, { app: 'other' }))).toEqual(['nse-c']);
    expect(names(matchEndpoints(ns, all, {}))).toEqual(['nse-c']);
  });

  it('continues past a fitting match without candidates only with fallthrough', () => {
    const missing = match({ app: 'x' }, [{ app: 'gone' }], { fallthrough: true });
    const ns = networkService('svc', [missing, match({}, [{ app: 'b' }])]);
    expect(names(matchEndpoints(ns, all, { app: 'x' }))).toEqual(['nse-b']);
    const stops = networkService('svc', [{ ...missing, fallthrough: false }, match({}, [{ app: 'b' }])]);
    const result = matchEndpoints(stops, all, { app: 'x' });
    expect(result.candidates).toEqual([]);
    expect(result.match).toBe(stops.matches[0]);
  });

  it('does not fall through a match that found candidates', () => {
    const ns = networkService('svc', [
      match({}, [{ app: 'a' }], { fallthrough: true }),
      match({}, [{ app: 'b' }]),
    ]);
    expect(names(matchEndpoints(ns, all, {}))).toEqual(['nse-a']);
  });

  it('finds nothing when no source selector matches', () => {
    const ns = networkService('svc', [match({ app: 'x' }, [{ app: 'a' }])]);
    const result = matchEndpoints(ns, all, { app: 'y' });
    expect(result.candidates).toEqual([]);
    expect(result.tried).toEqual([{ match: ns.matches[0], sourceMatched: false }]);
  });

  it('evaluates templated destination selectors against the connection labels', () => {
    const ns = networkService('svc', [match({}, [{ nodeName: '{{.nodeName}}' }])]);
    expect(names(matchEndpoints(ns, all, { nodeName: 'node-1' }))).toEqual(['nse-a', 'nse-c']);
    expect(names(matchEndpoints(ns, all, { nodeName: 'node-2' }))).toEqual(['nse-b']);
    // Without the variable the entry never matches (not even endpoints lacking the label).
    expect(names(matchEndpoints(ns, [...all, endpoint('bare', ['svc'])], {}))).toEqual([]);
  });

  it('evaluates templated source selectors too', () => {
    const ns = networkService('svc', [
      match({ self: '{{index . "app"}}' }, [{ app: 'a' }]),
      match({}, [{ app: 'b' }]),
    ]);
    expect(names(matchEndpoints(ns, all, { app: 'q', self: 'q' }))).toEqual(['nse-a']);
    expect(names(matchEndpoints(ns, all, { app: 'q', self: 'r' }))).toEqual(['nse-b']);
  });

  it('rejects a malformed template with INVALID_ARGUMENT naming it', () => {
    const ns = networkService('svc', [match({}, [{ nodeName: '{{.nodeName' }])]);
    expect(() => matchEndpoints(ns, all, { nodeName: 'node-1' })).toThrow('"{{.nodeName"');
    let err: unknown;
    try {
      matchEndpoints(ns, all, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NsmError);
    expect((err as NsmError).code).toBe(Code.INVALID_ARGUMENT);
  });

  it('unions the routes of the match, each endpoint once with the highest weight', () => {
    const ns = networkService('svc', [
      match({}, [
        { selector: { nodeName: 'node-1' }, weight: 2 },
        { app: 'b' },
        { selector: { app: 'c' }, weight: 5 },
      ]),
    ]);
    const result = matchEndpoints(ns, all, {});
    expect(result.candidates.map((x) => [x.nse.name, x.weight])).toEqual([
      ['nse-a', 2],
      ['nse-c', 5],
      ['nse-b', 1],
    ]);
  });

  it('looks only at the labels an endpoint registered for this service', () => {
    const other = endpoint('nse-other', ['svc', 'svc-2']);
    other.network_service_labels['svc-2'] = { labels: { app: 'a' } };
    const ns = networkService('svc', [match({}, [{ app: 'a' }])]);
    expect(names(matchEndpoints(ns, [other, a], {}))).toEqual(['nse-a']);
  });
});

describe('noEndpointMessage', () => {
  it('names the service, the labels, the selectors tried and the endpoints, on one line', () => {
    const ns = networkService('4g-network', [
      match({ app: 's1-mme' }, [{ app: 'mme' }]),
      match({ app: 's6a' }, [{ app: 'mme' }, { app: 'mme-2' }]),
    ]);
    const nses = [endpoint('mme', ['4g-network'], { app: 'mme' })];
    const labels = { app: 'foo', podName: 'nsc-1' };
    const message = noEndpointMessage(ns, nses, labels, matchEndpoints(ns, nses, labels), 2);
    expect(message).toBe(
      'no endpoint of network service "4g-network" matches labels {app=foo, podName=nsc-1}: ' +
        'tried matches [app=s1-mme → app=mme; app=s6a → app=mme | app=mme-2]; ' +
        'no source selector matches the labels; endpoints: mme {app=mme} (2 expired registration(s) ignored)',
    );
    expect(message).not.toContain('\n');
  });

  it('says which fitting match found nothing, and when nothing is registered', () => {
    const ns = networkService('svc', [match({ app: 'x' }, [{ app: 'y' }]), match({ app: 'z' }, [])]);
    const result = matchEndpoints(ns, [], { app: 'x' });
    expect(noEndpointMessage(ns, [], { app: 'x' }, result)).toBe(
      'no endpoint of network service "svc" matches labels {app=x}: ' +
        'tried matches [app=x → app=y (source matched, no endpoint)]; no endpoint is registered',
    );
  });

  it('abbreviates long endpoint lists', () => {
    const ns = networkService('svc');
    const nses = Array.from({ length: 8 }, (_, i) => endpoint(`e${i}`, ['svc']));
    expect(noEndpointMessage(ns, nses, {}, { candidates: [], tried: [] })).toContain('e4 {}, and 3 more');
  });
});
