// Where access tokens come from. A static VCC_ACCESS_TOKEN is the simplest source.
import type { ToolError } from "./errors.js";

export type TokenResult = { ok: true; value: string } | { ok: false; error: ToolError };

export interface TokenSource {
  token(signal?: AbortSignal): Promise<TokenResult>;
}

export function staticTokenSource(accessToken: string): TokenSource {
  const result: TokenResult = { ok: true, value: accessToken };
  return { token: async () => result };
}
