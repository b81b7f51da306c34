// npm run simulator -- --port <n> [--rate-limit <per second>] [--token-ttl <seconds>] [--latency <ms>]
// A stand-alone copy of the simulator, for trying the server or the API with curl.
import { parseArgs } from "node:util";
import { SEED } from "./seed.js";
import { startSimulator } from "./server.js";

function positive(name: string, value: string | undefined, allowZero = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    process.stderr.write(`simulator: --${name} must be a whole number${allowZero ? "" : " above 0"} (got '${value}')\n`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "4010" },
    "rate-limit": { type: "string" },
    "token-ttl": { type: "string" },
    latency: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (values.help) {
  process.stdout.write(
    "Usage: npm run simulator -- [--port 4010] [--rate-limit <requests per second>] [--token-ttl <seconds>] [--latency <ms>]\n--port 0 picks a free port. Stops on Ctrl-C.\n",
  );
  process.exit(0);
}

const simulator = await startSimulator({
  port: positive("port", values.port, true),
  rateLimit: positive("rate-limit", values["rate-limit"]),
  tokenExpiresIn: positive("token-ttl", values["token-ttl"]),
  latencyMs: positive("latency", values.latency, true),
});

process.stdout.write(
  [
    `VCC API simulator listening on ${simulator.url}`,
    `  Interaction Content API base: ${simulator.apiBaseUrl}`,
    `  token endpoint:               ${simulator.authUrl}`,
    "  static token: sandbox-token (all scopes); client credentials: sandbox-client / sandbox-secret",
    `  sample interactions: ${Object.values(SEED).join(", ")}`,
    "",
  ].join("\n"),
);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void simulator.close().then(() => process.exit(0));
  });
}
