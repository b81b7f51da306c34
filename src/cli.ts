// The command line and the configuration, decided before anything starts: what a start does (serve,
// run the passkey command, or print and exit with which code). A pure function of the arguments, the
// environment and the working directory, so every refusal is tested in process; src/index.ts acts on
// the decision (test/e2e/process.test.ts checks that it does, exit codes and streams included).
import { parseArgs } from "node:util";
import { type Config, ConfigError, configReference, loadConfig, unknownVariableWarnings } from "./config.js";
import { IMPLICIT_ENV_FILE_VARIABLES, withEnvFile } from "./env-files.js";

export const NAME = "vcc-interaction-content-mcp";

const USAGE = `vcc-interaction-content-mcp: an MCP server that deletes Vonage Contact Center interaction
content only after a person confirms.

Usage: vcc-interaction-content-mcp [--sandbox] [--read-only] [--http [--port <n>] [--host <addr>]]
                                   [--env-file <path>] [--help] [--version]
       vcc-interaction-content-mcp passkey add | list | remove <id>   [--env-file <path>]

  (no flags)     serve MCP over stdio: the MCP client starts this process
  --sandbox      try it safely: a local simulator with sample data, no credentials needed
                 (VCC_SANDBOX=true)
  --read-only    do not offer the delete tools at all (VCC_READ_ONLY=true)
  --http         serve MCP Streamable HTTP at http://<host>:<port>/mcp (or VCC_TRANSPORT=http)
  --port <n>     HTTP port, 0 for a free one (VCC_HTTP_PORT, default 3333)
  --host <addr>  address to bind (VCC_HTTP_HOST, default 127.0.0.1); any non-loopback address
                 requires VCC_HTTP_BEARER (one private user) or VCC_HTTP_AUTH=oauth (team server)
  --env-file <path>  read settings from this file too (VCC_ENV_FILE); the environment wins.
                 On Node 20 a missing file stops Node itself ("node: <path>: not found"):
                 VCC_ENV_FILE says more
  passkey ...    manage the passkeys that approve deletions (VCC_APPROVAL_PASSKEY=required):
                 add prints a one-time link to register one in a browser on this computer

Configuration comes from the environment, or a file named with --env-file or VCC_ENV_FILE.
A .env found in the working directory supplies credentials only
(${IMPLICIT_ENV_FILE_VARIABLES.join(", ")}); nothing else in it is used.
Empty variables count as unset. Variables, by who uses them:
`;

/** The usage, then every variable of the configuration schema (so the list cannot drift from it). */
export function helpText(width = 100): string {
  const reference = configReference();
  const column = Math.max(...reference.map((v) => v.name.length)) + 4;
  const lines: string[] = [];
  let group = "";
  for (const v of reference) {
    if (v.group !== group) {
      group = v.group;
      lines.push(`  ${group}:`);
    }
    const notes = [
      v.default !== undefined ? `default: ${v.default}` : v.defaultNote !== undefined ? `default: ${v.defaultNote}` : undefined,
      v.flag,
      v.secret ? "secret" : undefined,
    ].filter(Boolean);
    const text = `${v.description}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`;
    const wrapped = wrap(text, width - column - 2);
    lines.push(...wrapped.map((line, i) => `${i === 0 ? `    ${v.name}`.padEnd(column + 2) : " ".repeat(column + 2)}${line}`));
  }
  return `${USAGE}${lines.join("\n")}\nDetails: docs/configuration.md in the project's repository.\n`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** What a start does. `stdout` and `stderr` are complete texts, written before the exit. */
export type Startup =
  | { kind: "exit"; code: 0 | 1 | 2; stdout?: string; stderr?: string }
  | { kind: "passkey"; config: Config; args: string[] }
  | { kind: "serve"; config: Config; envFileWarnings: string[] };

/**
 * Decides the start from the arguments (without node and the script), the environment and the
 * working directory (where an implicit .env is looked for). `version` is read only for --version.
 * Flags win over the environment; config.ts validates both in one place.
 */
export function decideStartup(argv: readonly string[], environment: NodeJS.ProcessEnv, cwd: string, version: () => string): Startup {
  let positionals: string[];
  let flags: {
    help?: boolean;
    version?: boolean;
    http?: boolean;
    sandbox?: boolean;
    "read-only"?: boolean;
    port?: string;
    host?: string;
    "env-file"?: string;
  };
  try {
    ({ values: flags, positionals } = parseArgs({
      args: [...argv],
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
        http: { type: "boolean" },
        sandbox: { type: "boolean" },
        "read-only": { type: "boolean" },
        port: { type: "string" },
        host: { type: "string" },
        "env-file": { type: "string" },
      },
      allowPositionals: true,
    }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    return { kind: "exit", code: 2, stderr: `${NAME}: ${unknown ? `unknown option ${unknown}` : message.split(". ")[0]} (try --help)\n` };
  }
  // Asked for, before any protocol starts: these go to stdout.
  if (flags.help) return { kind: "exit", code: 0, stdout: helpText() };
  if (flags.version) return { kind: "exit", code: 0, stdout: `${version()}\n` };

  const [command, ...commandArgs] = positionals;
  if (command !== undefined && command !== "passkey")
    return { kind: "exit", code: 2, stderr: `${NAME}: unknown command '${command}' (try --help)\n` };

  const overrides: Record<string, string> = {};
  if (flags.http) overrides.VCC_TRANSPORT = "http";
  if (flags.sandbox) overrides.VCC_SANDBOX = "true";
  if (flags["read-only"]) overrides.VCC_READ_ONLY = "true";
  if (flags.port !== undefined) overrides.VCC_HTTP_PORT = flags.port;
  if (flags.host !== undefined) overrides.VCC_HTTP_HOST = flags.host;
  let config: Config;
  let envFileWarnings: string[];
  try {
    const { env, warnings } = withEnvFile(environment, { envFile: flags["env-file"], cwd });
    envFileWarnings = [...warnings, ...unknownVariableWarnings(env)];
    config = loadConfig({ ...env, ...overrides });
  } catch (error) {
    if (error instanceof ConfigError) return { kind: "exit", code: 1, stderr: `${NAME}: configuration error: ${error.message}\n` };
    throw error;
  }
  if ((flags.port !== undefined || flags.host !== undefined) && config.transport !== "http")
    return { kind: "exit", code: 2, stderr: `${NAME}: --port and --host apply to the HTTP transport: add --http (try --help)\n` };
  if (command === "passkey") return { kind: "passkey", config, args: commandArgs };
  return { kind: "serve", config, envFileWarnings };
}
