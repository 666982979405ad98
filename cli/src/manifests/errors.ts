/** The error `loadManifests` throws: every problem found in every manifest, each with its position. */

/** One problem, at a 1-based line and column of `file` (0 and 0 when it concerns no line, such as a missing path). */
export interface ManifestProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/**
 * Formats a problem as compilers do, so editors and terminals can jump to it: `file:line:col: message`.
 * Usage: `console.error(formatProblem(p))`.
 */
export function formatProblem(problem: ManifestProblem): string {
  const { file, line, col, message } = problem;
  return line > 0 ? `${file}:${line}:${col}: ${message}` : `${file}: ${message}`;
}

/**
 * Thrown when manifests cannot make a lab: all problems at once, so users fix them in one go.
 * The message lists them one per line (`formatProblem`).
 * Usage: `catch (err) { if (err instanceof ManifestError) for (const p of err.problems) ... }`.
 */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  readonly problems: ManifestProblem[];

  constructor(problems: ManifestProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}
