// npm run simulator -- [--port <n>] [--rate-limit <n>] [--token-ttl <s>] [--latency <ms>] [--fail-next <list>] …
// A stand-alone simulator, for trying the MCP server or the API with curl. Logs each request to stderr.
import { parseArgs } from "node:util";
import type { Fault } from "./faults.js";
import { parseFaultList } from "./faults.js";
import type { RateLimitSpec } from "./rate-limit.js";
import type { RouteName } from "./routes.js";
import { SEED } from "./seed.js";
import { startSimulator } from "./server.js";

const ROUTES: RouteName[] = [
  "token",
  "list-interactions",
  "get-interaction",
  "get-content",
  "delete-content",
  "delete-interaction",
  "delete-batch",
];

const USAGE = `Usage: npm run simulator -- [options]

  --port <n>              listen on 127.0.0.1:<n> (default 4010; 0 picks a free port)
  --rate-limit <n>        answer 429 with Retry-After beyond n API requests a second
  --rate-window <ms>      ... in any window of this many ms instead (e.g. --rate-limit 16 --rate-window 60000)
  --no-retry-after        429s (also those of --fail-next) carry no Retry-After, as the VCC API is documented
  --token-ttl <seconds>   expires_in of issued tokens (default 7200)
  --latency <ms>          added to every request
  --fail-next <list>      answer the next requests with these faults, in order, e.g. 429,503,500:html,drop-after
                          (a status, optionally :html, :text or :empty for its body; after-502 or after-504:
                          the action is performed, then that status answers; drop-before, drop-after,
                          truncate, slow)
  --fault-route <route>   apply --fail-next only to one route: ${ROUTES.join(", ")}
  --retry-after <value>   Retry-After of 429 and 503 faults from --fail-next (default 1)
  --quiet                 do not log requests to stderr
  -h, --help              this text

Stops on Ctrl-C (SIGINT) or SIGTERM.
`;

function fail(message: string): never {
  process.stderr.write(`simulator: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function whole(name: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    fail(
      `--${name} must be a whole number${min > 0 ? " above 0" : ""}${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ""} (got '${value}')`,
    );
  }
  return n;
}

let values: ReturnType<typeof parse>["values"];
function parse() {
  return parseArgs({
    options: {
      port: { type: "string", default: "4010" },
      "rate-limit": { type: "string" },
      "rate-window": { type: "string" },
      "no-retry-after": { type: "boolean" },
      "token-ttl": { type: "string" },
      latency: { type: "string" },
      "fail-next": { type: "string" },
      "fault-route": { type: "string" },
      "retry-after": { type: "string" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}
try {
  values = parse().values;
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const route = values["fault-route"] ?? "*";
if (route !== "*" && !ROUTES.includes(route as RouteName)) fail(`--fault-route must be one of ${ROUTES.join(", ")} (got '${route}')`);
let faults: Fault[] = [];
if (values["fail-next"] !== undefined) {
  try {
    faults = parseFaultList(values["fail-next"], values["no-retry-after"] ? null : values["retry-after"]);
  } catch (error) {
    fail(`--fail-next: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function rateLimitOf(limit: number | undefined, windowMs: number | undefined): RateLimitSpec | undefined {
  if (windowMs !== undefined && limit === undefined) fail("--rate-window needs --rate-limit");
  return limit === undefined ? undefined : { limit, ...(windowMs !== undefined ? { windowMs } : {}) };
}

const quiet = values.quiet === true;
let simulator: Awaited<ReturnType<typeof startSimulator>>;
try {
  simulator = await startSimulator({
    port: whole("port", values.port, 0, 65535),
    rateLimit: rateLimitOf(whole("rate-limit", values["rate-limit"], 1), whole("rate-window", values["rate-window"], 1)),
    retryAfterHeader: values["no-retry-after"] !== true,
    tokenExpiresIn: whole("token-ttl", values["token-ttl"], 1),
    latencyMs: whole("latency", values.latency, 0),
    faults: faults.map((fault) => ({ ...fault, route: route as RouteName | "*" })),
    onRequest: quiet
      ? undefined
      : (entry) => {
          const outcome = entry.status === undefined ? "dropped" : String(entry.status);
          const note = entry.fault ? ` (fault: ${JSON.stringify(entry.fault)})` : "";
          process.stderr.write(`${entry.time} ${entry.method} ${entry.path} [${entry.route}] → ${outcome}${note}\n`);
        },
  });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  process.stderr.write(
    `simulator: cannot listen on 127.0.0.1:${values.port}${code === "EADDRINUSE" ? ": the port is in use (try --port 0)" : `: ${String(error)}`}\n`,
  );
  process.exit(1);
}

process.stdout.write(
  [
    `VCC API simulator listening on ${simulator.url}`,
    `  Interaction Content API base: ${simulator.apiBaseUrl}`,
    `  token endpoint:               ${simulator.authUrl}`,
    "  static token: sandbox-token (all scopes); client credentials: sandbox-client / sandbox-secret",
    "  (readonly-client / readonly-secret has only the read scope)",
    `  sample interactions: ${Object.values(SEED).join(", ")}`,
    ...(faults.length > 0 ? [`  next ${faults.length} request(s)${route === "*" ? "" : ` to ${route}`} will meet injected faults`] : []),
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
