/**
 * Smooth weighted round-robin (the nginx algorithm): over many picks each candidate is chosen in
 * proportion to its weight, interleaved rather than in bursts (weights 3:1 give a a b a, a a b a, ...).
 * With equal weights it is plain rotation.
 */

/** Something to pick: a unique name and a positive weight. */
export interface Weighted {
  name: string;
  weight: number;
}

/**
 * Rotation state per candidate set; least recently used sets are dropped beyond `limit`. `start`
 * picks where a new rotation begins (default the first candidate): forwarders on different nodes that
 * each see their first request for a service should not all send it to the same endpoint.
 */
export class WeightedRotation {
  // key → candidate name → its current weight.
  private readonly states = new Map<string, Map<string, number>>();

  constructor(
    private readonly limit = 1024,
    private readonly start: (count: number) => number = () => 0,
  ) {}

  /**
   * Indices of `items` in the order to try them: this turn's weighted pick first, then the others in
   * list order rotating after it. `scope` separates rotations (e.g. the service name); the set of
   * names is part of the key, so a changed candidate set starts a fresh rotation.
   * Usage: `const order = rotation.order('svc', [{ name: 'a', weight: 3 }, { name: 'b', weight: 1 }])`.
   */
  order(scope: string, items: readonly Weighted[]): number[] {
    if (items.length <= 1) return items.map((_, i) => i);
    const key = [scope, ...items.map((i) => i.name)].join('\n');
    let current = this.states.get(key);
    if (!current) {
      // Half a weight ahead: the start wins ties on the first pick, weights still decide.
      const first = items[Math.min(items.length - 1, Math.max(0, this.start(items.length)))];
      current = new Map(first ? [[first.name, 0.5]] : []);
    }
    this.states.delete(key);
    this.states.set(key, current);
    if (this.states.size > this.limit) this.states.delete(this.states.keys().next().value ?? key);

    let total = 0;
    let best = 0;
    let bestValue = -Infinity;
    items.forEach((item, i) => {
      const weight = Math.max(1, item.weight);
      total += weight;
      const value = (current.get(item.name) ?? 0) + weight;
      current.set(item.name, value);
      if (value > bestValue) {
        best = i;
        bestValue = value;
      }
    });
    current.set(items[best]?.name ?? '', bestValue - total);
    return items.map((_, i) => (best + i) % items.length);
  }
}
