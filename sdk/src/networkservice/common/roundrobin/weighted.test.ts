import { describe, expect, it } from 'vitest';
import { WeightedRotation } from './weighted.js';

const firsts = (
  rotation: WeightedRotation,
  scope: string,
  items: { name: string; weight: number }[],
  n: number,
) => Array.from({ length: n }, () => items[rotation.order(scope, items)[0] ?? -1]?.name);

describe('WeightedRotation', () => {
  it('rotates evenly with equal weights and orders the rest after the pick', () => {
    const rotation = new WeightedRotation();
    const items = ['a', 'b', 'c'].map((name) => ({ name, weight: 1 }));
    expect(rotation.order('s', items)).toEqual([0, 1, 2]);
    expect(rotation.order('s', items)).toEqual([1, 2, 0]);
    expect(rotation.order('s', items)).toEqual([2, 0, 1]);
    expect(rotation.order('s', items)).toEqual([0, 1, 2]);
  });

  it('interleaves weighted picks smoothly (3:1 → a a b a)', () => {
    const items = [
      { name: 'a', weight: 3 },
      { name: 'b', weight: 1 },
    ];
    expect(firsts(new WeightedRotation(), 's', items, 8)).toEqual(['a', 'a', 'b', 'a', 'a', 'a', 'b', 'a']);
  });

  it('treats weights below 1 as 1', () => {
    const items = [
      { name: 'a', weight: 0 },
      { name: 'b', weight: -5 },
    ];
    expect(firsts(new WeightedRotation(), 's', items, 4)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('keeps separate rotations per scope and per candidate set', () => {
    const rotation = new WeightedRotation();
    const ab = [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
    ];
    expect(firsts(rotation, 's1', ab, 1)).toEqual(['a']);
    expect(firsts(rotation, 's2', ab, 1)).toEqual(['a']);
    expect(firsts(rotation, 's1', [...ab, { name: 'c', weight: 1 }], 1)).toEqual(['a']);
    expect(firsts(rotation, 's1', ab, 1)).toEqual(['b']);
  });

  it('forgets the least recently used rotations beyond its limit', () => {
    const rotation = new WeightedRotation(2);
    const ab = [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 1 },
    ];
    expect(firsts(rotation, 'old', ab, 1)).toEqual(['a']);
    firsts(rotation, 'x', ab, 1);
    firsts(rotation, 'y', ab, 1);
    expect(firsts(rotation, 'old', ab, 1)).toEqual(['a']);
  });

  it('handles zero and one candidate', () => {
    const rotation = new WeightedRotation();
    expect(rotation.order('s', [])).toEqual([]);
    expect(rotation.order('s', [{ name: 'a', weight: 9 }])).toEqual([0]);
  });
});
