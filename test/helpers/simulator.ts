// The usual setup of an end-to-end test file: one simulator for the file (reset before each test),
// servers pointed at it with the test token, closed after each test — and after each test, a check
// that the access token appeared in no result and no log line, and that no confirmation token or
// approval page id (capabilities) was ever logged.
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { fileAuditTrail, NO_AUDIT } from "../../src/audit.js";
import { type Config, loadConfig } from "../../src/config.js";
import { ApprovalServer } from "../../src/confirmation/approval-server.js";
import { passkeyGate, processPasskeys } from "../../src/confirmation/passkeys.js";
import { setLogLevel, setLogSink, writeStderr } from "../../src/log.js";
import { type ApiTiming, createServer, lazyApi, type SessionCaller } from "../../src/server.js";
import { type JournalEntry, type Simulator, type SimulatorOptions, startSimulator } from "../../src/simulator/server.js";
import type { SharedState } from "../../src/state/index.js";
import type { ToolDefinition } from "../../src/tools/define.js";
import type { VccClientOptions } from "../../src/vcc/client.js";
import {
  type Connected,
  type ConnectOptions,
  connect,
  connectClient,
  SECRET_TOKEN,
  SECRET_TOKEN_SCOPES,
  sharedValidator,
  structured,
} from "./mcp.js";

export interface SimulatorFixture {
  /** The simulator of this file (available inside tests and hooks). */
  readonly sim: Simulator;
  /** Spawns the built server with VCC_ACCESS_TOKEN and VCC_API_BASE_URL set for the simulator. */
  connect(options?: ConnectOptions): Promise<Connected>;
  /**
   * The same server in this process (fast): createServer with the same environment, linked to an
   * SDK Client by the SDK's InMemoryTransport, every result checked against its output schema by
   * the server and (the tools being listed first) by the client. stderr() is what the logger wrote
   * since (captured in this process, so the leak checks still apply). For tool and confirmation
   * logic; spawn (connect) what needs a process.
   */
  inProcess(options?: InProcessOptions): Promise<Connected>;
  /** The DELETE requests that reached the simulator. */
  deletes(): JournalEntry[];
}

export interface InProcessOptions extends Pick<ConnectOptions, "env" | "elicit" | "elicitUrl"> {
  /** Offer these tools instead of the registry's (e.g. to test the registration itself). */
  tools?: readonly ToolDefinition[];
  /** A team server's authenticated caller of the session (as the HTTP transport passes it). */
  caller?: SessionCaller;
  /** Durations shorter than a user may configure, applied after the environment (seconds, fractions allowed). */
  durations?: ShortDurations;
  /** The API client's waits, shortened (e.g. `shortenWait: () => 0`, `slowNoticeMs: 50`); its tokens' clock (`now`). */
  timing?: ApiTiming;
  /** The shared state (e.g. a RedisState, as a replica's); default: this process's memory. */
  state?: SharedState;
}

export interface ShortDurations {
  /** VCC_CONFIRMATION_TTL_SECONDS */
  confirmationTtlSeconds?: number;
  /** VCC_ELICITATION_TIMEOUT_SECONDS */
  elicitationTimeoutSeconds?: number;
}

/** A retry wait of a hundredth of the planned one: the retry rules run as they would, without the wait. */
export const HUNDREDFOLD: Pick<VccClientOptions, "shortenWait"> = { shortenWait: (ms) => Math.round(ms / 100) };

/** Log lines of in-process servers: the logger of this test process writes here once one is used. */
let logged: string | undefined;
const appendLogged = (line: string): void => {
  logged = (logged ?? "") + line;
};

export function useSimulator(options: SimulatorOptions = {}): SimulatorFixture {
  let sim: Simulator | undefined;
  const open: Connected[] = [];
  const approvalServers: ApprovalServer[] = [];
  beforeAll(async () => {
    sim = await startSimulator({ ...options, staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES, ...options.staticTokens } });
  });
  let changedLogging = false;
  afterAll(async () => {
    await sim?.close();
    // Workers run several files in one process (isolate: false): leave the logger as the process starts it.
    if (changedLogging) {
      setLogLevel("info");
      setLogSink(writeStderr);
    }
  });
  beforeEach(() => sim?.reset());
  afterEach(async () => {
    for (const c of open.splice(0)) {
      for (const r of c.results) {
        expect(JSON.stringify(r)).not.toContain(SECRET_TOKEN);
        const s = structured(r);
        if (typeof s.confirmationToken === "string") expect(c.stderr()).not.toContain(s.confirmationToken);
        if (typeof s.approvalUrl === "string") expect(c.stderr()).not.toContain(new URL(s.approvalUrl).pathname);
      }
      expect(c.stderr()).not.toContain(SECRET_TOKEN);
      await c.close();
    }
    await Promise.all(approvalServers.splice(0).map((a) => a.close()));
  });
  const fixture: SimulatorFixture = {
    get sim() {
      if (!sim) throw new Error("the simulator starts in beforeAll: use it inside tests and hooks");
      return sim;
    },
    async connect(connectOptions = {}) {
      const c = await connect({
        ...connectOptions,
        env: { VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: fixture.sim.apiBaseUrl, ...connectOptions.env },
      });
      open.push(c);
      return c;
    },
    async inProcess(connectOptions = {}) {
      const config = withDurations(
        loadConfig({ VCC_ACCESS_TOKEN: SECRET_TOKEN, VCC_API_BASE_URL: fixture.sim.apiBaseUrl, ...connectOptions.env }),
        connectOptions.durations ?? {},
      );
      // With passkeys required, one that checks them, as the process's would (the shared state's, when it keeps them).
      const approvals = new ApprovalServer({
        port: config.confirmation.approvalPort,
        ...(config.confirmation.passkey === "required" ? { passkeys: passkeyGate(processPasskeys(config, connectOptions.state)) } : {}),
      });
      approvalServers.push(approvals);
      const server = createServer(
        {
          config,
          api: lazyApi(config, connectOptions.timing),
          audit: config.audit.logPath ? fileAuditTrail(config.audit.logPath) : NO_AUDIT,
          // Its own approval page server (on VCC_APPROVAL_PORT or a free port, started on first need), like a process of its own.
          approvals,
          // Checked with the clients' validator: each output schema is compiled once for both sides.
          checkResults: sharedValidator,
          ...(connectOptions.tools ? { tools: connectOptions.tools } : {}),
          ...(connectOptions.state ? { state: connectOptions.state } : {}),
        },
        connectOptions.caller,
      );
      // As the process does at start (the last in-process server of a test decides, e.g. VCC_LOG_LEVEL=debug).
      setLogLevel(config.log.level);
      changedLogging = true;
      // Installed again for every server: another test (or file, in the same worker) may have set its own.
      logged ??= "";
      setLogSink(appendLogged);
      const from = logged.length;
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await server.connect(serverSide);
      const c = await connectClient(clientSide, connectOptions, () => (logged ?? "").slice(from));
      open.push(c);
      return c;
    },
    deletes: () => fixture.sim.requests("DELETE"),
  };
  return fixture;
}

/** The configuration with these durations (the one place that knows where they sit in Config). */
function withDurations(config: Config, durations: ShortDurations): Config {
  const { confirmationTtlSeconds: ttlSeconds, elicitationTimeoutSeconds } = durations;
  return {
    ...config,
    confirmation: {
      ...config.confirmation,
      ...(ttlSeconds !== undefined ? { ttlSeconds } : {}),
      ...(elicitationTimeoutSeconds !== undefined ? { elicitationTimeoutSeconds } : {}),
    },
  };
}
