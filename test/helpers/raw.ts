// Drives the built server over stdio at the byte level: raw lines in, every stdout line checked to
// be JSON-RPC. For what the SDK Client cannot do (malformed input, signals mid-call).
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { childEnv, SERVER_ENTRY } from "./mcp.js";

// biome-ignore lint/suspicious/noExplicitAny: raw JSON-RPC messages are read field by field in assertions.
export type Message = Record<string, any>;

export class RawServer {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = "";
  stderr = "";
  /** Every stdout line, parsed. A line that is not JSON fails the test that reads it. */
  readonly messages: Message[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: (() => void)[] = [];

  constructor(env: Record<string, string>, options: { nodeArgs?: string[] } = {}) {
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), SERVER_ENTRY], {
      env: childEnv(env),
      cwd: tmpdir(),
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.stdin.on("error", () => {}); // writing after the process ended is not this helper's concern
    this.child.stdout.on("data", (d: Buffer) => {
      this.stdout += d.toString();
      const lines = this.stdout.split("\n");
      const complete = lines.slice(0, -1).filter(Boolean);
      this.messages.splice(0, this.messages.length, ...complete.map((l) => JSON.parse(l) as Message));
      this.#wake();
    });
    this.child.stderr.on("data", (d: Buffer) => {
      this.stderr += d.toString();
      this.#wake();
    });
    this.exited = new Promise((resolve) => this.child.on("close", (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => this.#wake());
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves once `check` holds (re-checked on every output), or rejects after `timeoutMs`. */
  async until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr: ${this.stderr.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  sendLine(line: string | Buffer): void {
    this.child.stdin.write(line);
    this.child.stdin.write("\n");
  }

  send(message: Message): void {
    this.sendLine(JSON.stringify({ jsonrpc: "2.0", ...message }));
  }

  response(id: number): Message | undefined {
    return this.messages.find((m) => m.id === id && ("result" in m || "error" in m));
  }

  async waitForResponse(id: number, timeoutMs?: number): Promise<Message> {
    await this.until(() => this.response(id) !== undefined, `the response to request ${id}`, timeoutMs);
    return this.response(id) as Message;
  }

  async initialize(capabilities: Message = {}): Promise<void> {
    this.send({
      id: 0,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities, clientInfo: { name: "raw", version: "1" } },
    });
    await this.waitForResponse(0);
    this.send({ method: "notifications/initialized" });
  }

  callTool(id: number, name: string, args: unknown): void {
    this.send({ id, method: "tools/call", params: { name, arguments: args } });
  }
}
