// Types of scripts/docs.mjs, for its unit test.
export interface Generator {
  source: string;
  render(sources: Record<string, unknown>): string;
}
export const GENERATORS: Record<string, Generator>;
export function loadSources(): Promise<Record<string, unknown>>;
export function firstSentence(description: string): string;
export function markdownFiles(): string[];
export function regenerate(text: string, sources: Record<string, unknown>, found?: Set<string>): string;
export function anchors(text: string): Set<string>;
export function brokenLinks(file: string): string[];
