// Where configuration comes from besides the real environment: an env file named explicitly
// (--env-file <path> or VCC_ENV_FILE), or else a `.env` found in the working directory. Some MCP
// clients start servers in the user's workspace, whose `.env` anyone who wrote the workspace controls:
// such a file may only supply credentials, never where requests and credentials go, who can reach
// the server, or how deletions are confirmed. Files are parsed, never loaded into process.env, so no
// file can set variables Node itself reads (e.g. NODE_TLS_REJECT_UNAUTHORIZED), and no DOTENV_*
// variable (e.g. DOTENV_CONFIG_OVERRIDE) can make a file win over the environment.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "dotenv";
import { ConfigError } from "./config.js";

/** What a `.env` found implicitly may set: the credentials, as one set, and only when the environment sets none. */
export const IMPLICIT_ENV_FILE_VARIABLES = ["VCC_CLIENT_ID", "VCC_CLIENT_SECRET", "VCC_ACCESS_TOKEN"] as const;

export interface Environment {
  env: Record<string, string | undefined>;
  /** Warnings for the log once it is set up (names only, never values). */
  warnings: string[];
}

/**
 * The environment the configuration is read from: the real one, filled in (never overridden) from the
 * env file named by `envFile` (the --env-file flag) or VCC_ENV_FILE, or else from `<cwd>/.env` within
 * the limits above. A named file that cannot be read is a ConfigError.
 */
export function withEnvFile(env: NodeJS.ProcessEnv, options: { envFile?: string; cwd: string }): Environment {
  const isSet = (name: string) => Boolean(env[name]?.trim());
  const named = options.envFile?.trim() || env.VCC_ENV_FILE?.trim();
  if (named) {
    let text: string;
    try {
      text = readFileSync(named, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new ConfigError(
        `cannot read the env file '${named}' named by ${options.envFile?.trim() ? "--env-file" : "VCC_ENV_FILE"} (${code})`,
      );
    }
    return { env: fill(env, vccOnly(parse(text)), isSet), warnings: [] };
  }

  let text: string;
  try {
    text = readFileSync(join(options.cwd, ".env"), "utf8");
  } catch {
    return { env: { ...env }, warnings: [] };
  }
  const found = vccOnly(parse(text));
  const allowed = new Set<string>(IMPLICIT_ENV_FILE_VARIABLES);
  const credentials = Object.keys(found).filter((name) => allowed.has(name));
  const ignored = Object.keys(found).filter((name) => !allowed.has(name));
  const warnings: string[] = [];
  if (ignored.length > 0)
    warnings.push(
      `ignored ${ignored.join(", ")} in ./.env: a .env found in the working directory may only supply credentials (${IMPLICIT_ENV_FILE_VARIABLES.join(", ")}); set the others in the environment or name a file you trust with --env-file or VCC_ENV_FILE`,
    );
  const envCredentials = IMPLICIT_ENV_FILE_VARIABLES.filter(isSet);
  if (credentials.length > 0 && envCredentials.length > 0) {
    warnings.push(
      `ignored the credentials in ./.env: the environment sets ${envCredentials.join(", ")}, and credentials come from one place`,
    );
    return { env: { ...env }, warnings };
  }
  const picked = Object.fromEntries(credentials.map((name) => [name, found[name] ?? ""]));
  return { env: fill(env, picked, isSet), warnings };
}

/** Only the server's own variables: nothing else in a file has any effect. */
function vccOnly(parsed: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(parsed).filter(([name]) => name.startsWith("VCC_") && name !== "VCC_ENV_FILE"));
}

/** `env` with the variables it does not set (or sets empty) taken from `file`. */
function fill(env: NodeJS.ProcessEnv, file: Record<string, string>, isSet: (name: string) => boolean): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const [name, value] of Object.entries(file)) if (!isSet(name)) out[name] = value;
  return out;
}
