// Types of scripts/mcpb.mjs, for the tests that build the Claude Desktop bundle.
export interface ManifestTool {
  name: string;
  description: string;
}
export interface UserConfigOption {
  type: "string" | "number" | "boolean" | "directory" | "file";
  title: string;
  description: string;
  default?: string | number | boolean;
  required?: boolean;
  sensitive?: boolean;
}
export interface Manifest {
  manifest_version: string;
  name: string;
  version: string;
  server: { type: string; entry_point: string; mcp_config: { command: string; args: string[]; env: Record<string, string> } };
  tools: ManifestTool[];
  compatibility: { runtimes: { node: string } };
  user_config: Record<string, UserConfigOption>;
  [key: string]: unknown;
}

export const MCPB_CLI: string;
export const USER_CONFIG: Record<string, UserConfigOption>;
export const USER_CONFIG_ENV: Record<string, string>;
export function shippedFiles(): string[];
export function distFiles(report: { files: { path: string }[] }): string[];
export function summary(description?: string): string;
export function readTools(entry: string): Promise<ManifestTool[]>;
export function manifestFor(pkg: Record<string, unknown>, tools: ManifestTool[]): Manifest;
export function stage(dir: string, files?: string[]): Promise<Manifest>;
export function mcpb(args: string[]): string;
export function buildMcpb(outDir: string, files?: string[]): Promise<{ file: string; stageDir: string; manifest: Manifest }>;
