// The one logger. stdout belongs to the MCP protocol, so every line goes to stderr.
// Secrets are redacted here, at the single exit, rather than at each call site.
// Logging never throws and never loops: once stderr is gone (the reader closed the pipe: EPIPE, or
// no descriptor: EBADF), lines are dropped and the server goes on serving.

import { formatWithOptions, type InspectOptions, inspect } from "node:util";

export type LogLevel = "error" | "warn" | "info" | "debug";
const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

const secrets = new Set<string>();
let threshold: LogLevel = "info";
let stderrGone = false;
// Without a listener, a failed write to stderr is an uncaught exception, whose handler logs it,
// which fails again: a loop at full CPU that answers nothing.
process.stderr.on("error", () => {
  stderrGone = true;
});

/** Writes to stderr unless it is gone; never throws. For the few lines printed whatever the log level. */
export function writeStderr(text: string): void {
  if (stderrGone) return;
  if (!process.stderr.writable) {
    stderrGone = true;
    return;
  }
  try {
    process.stderr.write(text);
  } catch {
    stderrGone = true;
  }
}

let sink: (line: string) => void = writeStderr;

/**
 * Remember a value that must never be printed (access tokens, client secrets), with the forms it
 * takes in a URL or a form body (an upstream that echoes its request echoes those).
 */
export function registerSecret(value: string | undefined): void {
  // Very short values would redact ordinary words; real tokens and secrets are long.
  if (!value || value.length < 6) return;
  secrets.add(value);
  secrets.add(encodeURIComponent(value));
  secrets.add(new URLSearchParams({ v: value }).toString().slice(2));
}

/** A word without which neither pattern of redact() can match. */
const CREDENTIAL_WORD = /bearer|client_secret|access_token/i;

/** Replace every registered secret, and anything that looks like a bearer credential. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join("[REDACTED]");
  // Most texts (every string of an API answer goes through here) hold none of these words: no copies then.
  if (!CREDENTIAL_WORD.test(out)) return out;
  return out
    .replace(/(bearer\s+)[^\s"',;]+/gi, "$1[REDACTED]")
    .replace(/((?:client_secret|access_token)["']?\s*[=:]\s*["']?)[^\s"'&,;]+/gi, "$1[REDACTED]");
}

/**
 * A parsed JSON value with every string redacted, keys included. Redact the parsed value, never the
 * JSON text: a JSON escape (`\/`, `\u002f`) in the text would hide a secret from redact().
 */
export function redactJson(value: unknown): unknown {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map(redactJson);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactJson(v)]));
  return value;
}

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/** Tests and embedders can capture log lines instead of writing them to stderr. */
export function setLogSink(write: (line: string) => void): void {
  sink = write;
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
  if (ORDER[level] > ORDER[threshold]) return;
  let line = `[vcc-mcp] ${level}: ${message}`;
  if (fields) {
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) line += ` ${key}=${describe(value)}`;
    }
  }
  sink(`${redact(line)}\n`);
}

/**
 * What dependencies print with console.* goes through this logger: to stderr, redacted, at a level
 * (log, info and debug at debug; warn; error and trace at error). While serving, stdout carries
 * JSON-RPC only, and a library's console.log there (or an error it prints with the request that
 * failed) would corrupt the protocol or put a token into the log.
 */
export function captureConsole(): void {
  const to =
    (level: LogLevel) =>
    (...args: unknown[]) =>
      write(level, formatWithOptions({ colors: false }, ...args));
  console.log = to("debug");
  console.info = to("debug");
  console.debug = to("debug");
  // console.dir writes to stdout itself (the others above go through console.log).
  console.dir = (item: unknown, options?: InspectOptions) => write("debug", inspect(item, { ...options, colors: false }));
  console.warn = to("warn");
  console.error = to("error");
  console.trace = to("error");
}

export const log = {
  error: (message: string, fields?: Record<string, unknown>) => write("error", message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write("warn", message, fields),
  info: (message: string, fields?: Record<string, unknown>) => write("info", message, fields),
  debug: (message: string, fields?: Record<string, unknown>) => write("debug", message, fields),
};
