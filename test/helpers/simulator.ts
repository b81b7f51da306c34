// The usual setup of an end-to-end test file: one simulator for the file (reset before each test),
// servers pointed at it with the test token, closed after each test — and after each test, a check
// that the access token appeared in no result and no log line, and that no confirmation token or
// approval page id (capabilities) was ever logged.
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { type JournalEntry, type Simulator, type SimulatorOptions, startSimulator } from "../../src/simulator/server.js";
import { type Connected, type ConnectOptions, connect, SECRET_TOKEN, SECRET_TOKEN_SCOPES, structured } from "./mcp.js";

export interface SimulatorFixture {
  /** The simulator of this file (available inside tests and hooks). */
  readonly sim: Simulator;
  /** Spawns the built server with VCC_ACCESS_TOKEN and VCC_API_BASE_URL set for the simulator. */
  connect(options?: ConnectOptions): Promise<Connected>;
  /** The DELETE requests that reached the simulator. */
  deletes(): JournalEntry[];
}

export function useSimulator(options: SimulatorOptions = {}): SimulatorFixture {
  let sim: Simulator | undefined;
  const open: Connected[] = [];
  beforeAll(async () => {
    sim = await startSimulator({ ...options, staticTokens: { [SECRET_TOKEN]: SECRET_TOKEN_SCOPES, ...options.staticTokens } });
  });
  afterAll(async () => {
    await sim?.close();
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
    deletes: () => fixture.sim.requests("DELETE"),
  };
  return fixture;
}
