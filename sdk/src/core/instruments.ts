/**
 * The points where a server chain is measured: one element at its head (the whole request at this hop),
 * the stages of a request (endpoint selection, the call to the next hop, building the wire). The chain
 * products hook each point once; metrics and tracing both plug in there (`combineInstruments`).
 */
import { chain, type NetworkServiceElement } from './chain.js';

/** The stages a request's time is split into. */
export type Stage = 'select' | 'dial' | 'wire';

/** What measures a chain at its instrumentation points (metrics, tracing, or both). */
export interface ChainInstruments {
  /** The element that sees every request and close of this hop; first in the chain. */
  count(): NetworkServiceElement;
  /** `element` measured as `stage`, its own work only (not the time spent in `next`). */
  stage(stage: Stage, element: NetworkServiceElement): NetworkServiceElement;
  /** An element that measures the time its `next` takes as `stage` (the call to the next hop: `dial`). */
  around(stage: Stage): NetworkServiceElement;
}

/**
 * Every given instrument at the same points, the first outermost; undefined when none is given.
 * Usage: `combineInstruments(options.tracing, options.metrics)`.
 */
export function combineInstruments(...list: (ChainInstruments | undefined)[]): ChainInstruments | undefined {
  const given = list.filter((i): i is ChainInstruments => i !== undefined);
  if (given.length === 0) return undefined;
  const [only] = given;
  if (given.length === 1 && only) return only;
  return {
    count: () => chain(...given.map((i) => i.count())),
    // The first instrument wraps the others, so it sees their (small) cost too.
    stage: (stage, element) => given.reduceRight((inner, i) => i.stage(stage, inner), element),
    around: (stage) => chain(...given.map((i) => i.around(stage))),
  };
}
