/**
 * Problem collection with positions: a `Report` gathers errors and warnings from every document, and a
 * `ManifestDoc` maps a field path of one YAML document back to the line and column where it is written.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import type { ManifestProblem } from './errors.js';

/** A place in a file: 1-based line and column (0 and 0 when no line applies). */
export interface Position {
  file: string;
  line: number;
  col: number;
}

/** A path of keys and list indexes into a document, such as `['spec', 'matches', 0]`. */
export type FieldPath = readonly (string | number)[];

/** Collects errors and warnings; nothing fails until every document has been checked. */
export class Report {
  readonly problems: ManifestProblem[] = [];
  readonly warnings: ManifestProblem[] = [];

  error(at: Position, message: string): void {
    this.problems.push({ ...at, message });
  }

  warn(at: Position, message: string): void {
    this.warnings.push({ ...at, message });
  }
}

/** `file:line:col` for messages that point at another place. */
export function formatPosition(at: Position): string {
  return `${at.file}:${at.line}:${at.col}`;
}

/** `spec.matches[0].routes` for messages. */
export function formatPath(path: FieldPath): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}

/** How a value reads in "is a ..." messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `the ${typeof value} ${value}`;
  return `a ${typeof value}`;
}

/** Whether `value` is a YAML mapping turned into a plain object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One parsed YAML document: its plain value, and positions for error messages. */
export class ManifestDoc {
  constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    readonly value: Record<string, unknown>,
    private readonly report: Report,
  ) {}

  /**
   * Where `path` is written: its value (or its key with `part: 'key'`); the nearest enclosing node
   * that exists when the path is missing, so "is missing" points at the mapping that lacks it.
   */
  at(path: FieldPath, part: 'value' | 'key' = 'value'): Position {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node);
    for (const [i, seg] of path.entries()) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        const keyOffset = rangeStart(pair.key) ?? offset;
        if (part === 'key' && i === path.length - 1) return this.position(keyOffset);
        node = pair.value;
        offset = rangeStart(node) ?? keyOffset;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        node = node.items[seg];
        offset = rangeStart(node) ?? offset;
      } else {
        // Aliases and scalars end the walk: their position is the best there is.
        break;
      }
      if (isAlias(node)) break;
    }
    return this.position(offset);
  }

  /** The plain value at `path`, or undefined. */
  get(path: FieldPath): unknown {
    let value: unknown = this.value;
    for (const seg of path) {
      if (Array.isArray(value) && typeof seg === 'number') value = value[seg];
      else if (isRecord(value) && typeof seg === 'string' && Object.hasOwn(value, seg)) value = value[seg];
      else return undefined;
    }
    return value;
  }

  error(path: FieldPath, message: string, part: 'value' | 'key' = 'value'): void {
    this.report.error(this.at(path, part), message);
  }

  warn(path: FieldPath, message: string, part: 'value' | 'key' = 'value'): void {
    this.report.warn(this.at(path, part), message);
  }

  private position(offset: number | undefined): Position {
    const { line, col } = this.lines.linePos(offset ?? 0);
    return { file: this.file, line, col };
  }
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: readonly number[] | null } | null | undefined)?.range;
  return range?.[0];
}
