import type { ESLint } from 'eslint';

/** What each top-level folder may import by package name. */
export declare const LAYERS: Record<string, string[]>;
/** The plugin with the `imports` rule. */
export declare const layers: ESLint.Plugin;
