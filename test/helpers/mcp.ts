// Spawns the built server over stdio and drives it with the SDK Client, as a real MCP client would.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  type CallToolResult,
  ElicitationCompleteNotificationSchema,
  ElicitRequestSchema,
  type ElicitResult,
} from "@modelcontextprotocol/sdk/types.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { JsonSchemaValidator, jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";

const PACKAGE_ROOT = new URL("../../", import.meta.url);
const BIN = (JSON.parse(readFileSync(new URL("package.json", PACKAGE_ROOT), "utf8")) as { bin: Record<string, string> }).bin;

/** What ships: the package's `bin` (the esbuild bundle built by `npm run build`), so tests run exactly that. */
export const SERVER_ENTRY = fileURLToPath(new URL(BIN["vcc-interaction-content-mcp"] ?? "missing-bin", PACKAGE_ROOT));

/** An access token the tests configure (the simulator accepts it), to check it never leaks. */
export const SECRET_TOKEN = "e2e-secret-access-token-7c41d9";
/**
 * The scopes the simulator grants SECRET_TOKEN (a static VCC_ACCESS_TOKEN is one token used for
 * everything), and the scopes of the tests' client credentials. Tokens from the token endpoint get
 * one scope each, whatever the credentials hold.
 */
export const SECRET_TOKEN_SCOPES = ["interaction-content:read", "interaction-content:delete"];

export type ElicitHandler = (params: { message: string; requestedSchema?: unknown }) => Promise<ElicitResult> | ElicitResult;
export type UrlElicitHandler = (params: { message: string; url: string; elicitationId: string }) => Promise<ElicitResult> | ElicitResult;

export interface Connected {
  client: Client;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Every tool result seen, for leak checks. */
  results: CallToolResult[];
  /** elicitationIds of every notifications/elicitation/complete received. */
  completedElicitations: string[];
  call(name: string, args: Record<string, unknown>, options?: RequestOptions): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  env?: Record<string, string>;
  args?: string[];
  /** Declare form elicitation and answer prompts with this handler. */
  elicit?: ElicitHandler;
  /** Declare URL-mode elicitation and answer URL prompts with this handler. */
  elicitUrl?: UrlElicitHandler;
  cwd?: string;
  /** Another copy of the server to spawn instead of SERVER_ENTRY. */
  entry?: string;
}

/** The minimal environment a child needs, plus the test's own variables (nothing inherited). */
export function childEnv(env: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env };
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <args>` to its end with childEnv(env), in a temporary directory unless told otherwise. */
export function runNode(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: childEnv(options.env),
      cwd: options.cwd ?? tmpdir(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    // "close", not "exit": the exit can come before the last of its output has been read.
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export async function connect(options: ConnectOptions = {}): Promise<Connected> {
  const entry = options.entry ?? SERVER_ENTRY;
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
  return connectCommand(process.execPath, [entry, ...(options.args ?? [])], {
    ...options,
    env: childEnv(options.env),
    cwd: options.cwd ?? fileURLToPath(new URL("../..", import.meta.url)),
  });
}

/** A built server started as its own process: its id (to signal it) and when it has exited. */
export interface SpawnedServer extends Connected {
  pid: number;
  exited: Promise<void>;
}

/** Starts the built server (SERVER_ENTRY) with `env` (and nothing else inherited, see childEnv) and connects to it. */
export async function spawnServer(env: Record<string, string>): Promise<SpawnedServer> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [SERVER_ENTRY],
    env: childEnv(env),
    stderr: "pipe",
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const c = await connectClient(transport, {}, () => stderr);
  // When the process has exited (the client's own handler still called).
  const previous = transport.onclose;
  const exited = new Promise<void>((resolve) => {
    transport.onclose = () => {
      previous?.();
      resolve();
    };
  });
  return { ...c, pid: transport.pid ?? 0, exited };
}

/** Starts `command args` with exactly `options.env` (nothing inherited) and connects an SDK Client over its stdio. */
export async function connectCommand(
  command: string,
  args: string[],
  options: Pick<ConnectOptions, "elicit" | "elicitUrl"> & { env: Record<string, string>; cwd: string },
): Promise<Connected> {
  const transport = new StdioClientTransport({ command, args, env: options.env, stderr: "pipe", cwd: options.cwd });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  return connectClient(transport, options, () => stderr);
}

/**
 * The clients' JSON Schema validator, shared and caching by schema: each SDK Client would otherwise
 * build its own Ajv and compile every output schema again at tools/list (tens of ms per client).
 * A test that makes its own `Client` passes it as `jsonSchemaValidator`.
 */
export const sharedValidator: jsonSchemaValidator = (() => {
  const ajv = new AjvJsonSchemaValidator();
  const compiled = new Map<string, JsonSchemaValidator<unknown>>();
  return {
    getValidator: <T>(schema: Parameters<jsonSchemaValidator["getValidator"]>[0]) => {
      const key = JSON.stringify(schema);
      let validate = compiled.get(key);
      if (!validate) {
        validate = ajv.getValidator(schema);
        compiled.set(key, validate);
      }
      return validate as JsonSchemaValidator<T>;
    },
  };
})();

/** Connects an SDK Client over `transport`, declaring form (`elicit`) and URL-mode (`elicitUrl`) elicitation when given. */
export async function connectClient(
  transport: Transport,
  options: Pick<ConnectOptions, "elicit" | "elicitUrl">,
  stderr: () => string,
): Promise<Connected> {
  const elicitation = {
    ...(options.elicit ? { form: {} } : {}),
    ...(options.elicitUrl ? { url: {} } : {}),
  };
  const client = new Client(
    { name: "e2e-test-client", version: "1.0.0" },
    { capabilities: options.elicit || options.elicitUrl ? { elicitation } : {}, jsonSchemaValidator: sharedValidator },
  );
  if (options.elicit || options.elicitUrl) {
    const { elicit, elicitUrl } = options;
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      const params = request.params;
      if (params.mode === "url") {
        if (!elicitUrl) throw new Error("this test client does not do URL elicitation");
        return elicitUrl({ message: params.message, url: params.url, elicitationId: params.elicitationId });
      }
      if (!elicit) throw new Error("this test client does not do form elicitation");
      return elicit({ message: params.message, requestedSchema: "requestedSchema" in params ? params.requestedSchema : undefined });
    });
  }
  const completedElicitations: string[] = [];
  client.setNotificationHandler(ElicitationCompleteNotificationSchema, (notification) => {
    completedElicitations.push(notification.params.elicitationId);
  });
  await client.connect(transport);
  // As a real client does: with the tools listed, the SDK client validates every structuredContent
  // against the tool's outputSchema (errors included), so a result that breaks its schema fails the test.
  await client.listTools();
  const results: CallToolResult[] = [];
  return {
    client,
    stderr,
    results,
    completedElicitations,
    call: async (name, args, requestOptions) => {
      const result = (await client.callTool({ name, arguments: args }, undefined, requestOptions)) as CallToolResult;
      results.push(result);
      return result;
    },
    close: () => client.close(),
  };
}

/** The text of a result's first content block. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first && first.type === "text" ? first.text : "";
}

/** structuredContent, typed loosely: assertions read arbitrary nested fields. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary nested fields of results.
export type Loose = Record<string, any>;
export function structured(result: CallToolResult): Loose {
  return (result.structuredContent ?? {}) as Loose;
}

/** An elicitation handler that approves and counts how often it was asked. */
export function countingApprover(): { asked: number; handler: ElicitHandler } {
  const state = {
    asked: 0,
    handler: (): ElicitResult => {
      state.asked++;
      return { action: "accept", content: { confirm: true } };
    },
  };
  return state;
}
