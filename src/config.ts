// All configuration, read from the environment (and an env file, see env-files.ts) and validated once at start.
import { isIP } from "node:net";
import { isAbsolute } from "node:path";
import { z } from "zod";
import { DELETE_SCOPE, isScope, READ_SCOPE, type Scope } from "./vcc/scopes.js";

export { DELETE_SCOPE, READ_SCOPE, type Scope } from "./vcc/scopes.js";

export const REGIONS = {
  emea: {
    apiBaseUrl: "https://emea.api.newvoicemedia.com/interaction-content",
    authUrl: "https://emea.cc.vonage.com/Auth/connect/token",
  },
  nam: {
    apiBaseUrl: "https://nam.api.newvoicemedia.com/interaction-content",
    authUrl: "https://nam.cc.vonage.com/Auth/connect/token",
  },
  apac: {
    apiBaseUrl: "https://apac.api.newvoicemedia.com/interaction-content",
    authUrl: "https://apac.cc.vonage.com/Auth/connect/token",
  },
} as const;

export type Region = keyof typeof REGIONS;
const REGION_NAMES = ["emea", "nam", "apac"] as const satisfies readonly Region[];
const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
export const CONFIRMATION_MODES = ["auto", "elicitation", "token", "approval"] as const;
export type ConfirmationMode = (typeof CONFIRMATION_MODES)[number];
export const PASSKEY_MODES = ["off", "required"] as const;
export type PasskeyMode = (typeof PASSKEY_MODES)[number];
export const TRANSPORTS = ["stdio", "http"] as const;
export type TransportKind = (typeof TRANSPORTS)[number];
export const HTTP_AUTH = ["none", "bearer", "oauth"] as const;
export type HttpAuth = (typeof HTTP_AUTH)[number];

/** The team server: an OAuth 2.1 resource server, and approvals by people who sign in (docs/team-server.md). */
export interface OAuthConfig {
  /** The authorization server whose access tokens are accepted (its `iss`), without a trailing slash. */
  issuer: string;
  /** The origin clients reach this server at (behind a TLS proxy: the proxy's), without a trailing slash. */
  publicUrl: string;
  /** What access tokens must name in `aud`; undefined: the resource URL (publicUrl + /mcp). */
  audience?: string;
  /** The scope that lets a caller list and search. */
  readScope: string;
  /** The scope that, with readScope, lets a caller use the deletion tools. */
  deleteScope: string;
  /** This server as an OpenID Connect client of the issuer, for the sign-in of approvers. */
  oidc?: { clientId: string; clientSecret?: string; scope: string };
  /** The claim that names a person, the same in access tokens and approvers' ID tokens (default `sub`). */
  personClaim: string;
  /** Four eyes: the approver must be another person than the requester, carrying `approverClaim`. */
  separateApprover: boolean;
  /** A claim the approver's ID token must carry, e.g. groups containing vcc-approvers. */
  approverClaim?: { name: string; value: string };
}

/** A configuration problem: one line naming the variable and what it accepts. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * An absolute path: a server started by an MCP client has no working directory the user chose (a
 * relative path would land wherever the client started it), and no shell expands "~".
 */
function absolutePath(variable: string) {
  return z.string().refine((value) => isAbsolute(value), {
    message: `${variable} must be an absolute path, such as /home/you/… or C:\\Users\\you\\… (a server started by an MCP client has no working directory you chose, and "~" is not expanded)`,
  });
}

/** The host names (as in URLs) the VCC regions use; an endpoint elsewhere is worth a warning. */
const VCC_HOST_SUFFIXES = [".newvoicemedia.com", ".cc.vonage.com"];

// The client secret and access tokens are sent to these URLs: plain http is for this machine only.
function endpointUrl(variable: string) {
  return z.string().superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      url = new URL("invalid:");
    }
    // Credentials in a URL would end up in logs and messages: they belong in their own variables.
    if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash || url.username || url.password)
      ctx.addIssue({ code: "custom", message: `${variable} must be an absolute https URL without user name, password, query or fragment` });
    else if (url.protocol === "http:" && !isLoopbackHost(url.hostname.replace(/^\[(.*)\]$/, "$1")))
      ctx.addIssue({
        code: "custom",
        message: `${variable} must use https: credentials would cross the network in clear text (plain http is accepted for loopback only, e.g. a local simulator)`,
      });
  });
}

// `label` names the variable and, where there is one, its command-line flag.
function integer(variable: string, min: number, max: number, label = variable) {
  return z
    .string()
    .regex(/^\d+$/, { message: `${label} must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `${label} must be a whole number from ${min} to ${max}` });
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** An IP address (IPv6 with or without brackets) or a host name, in lower case without brackets; undefined if neither. */
function hostOrAddress(value: string): string | undefined {
  const bare = value.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return isIP(bare) !== 0 || HOST_NAME.test(bare) ? bare : undefined;
}

/** Whether binding to `host` keeps the server reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** One scope token (RFC 6749 section 3.3), without the characters a WWW-Authenticate quoted string would need escaped. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function scopeName(variable: string) {
  return z.string().regex(SCOPE_TOKEN, { message: `${variable} must be one OAuth scope (no spaces, quotes or backslashes)` });
}

// token68 (RFC 7235), so that any client can send it in an Authorization header; long enough to resist guessing.
const BEARER = /^[A-Za-z0-9._~+/-]{16,}=*$/;

function oneOf<const T extends readonly string[]>(variable: string, values: T) {
  return z.string().transform((value, ctx): T[number] => {
    const lower = value.toLowerCase();
    if (values.includes(lower)) return lower;
    ctx.addIssue({ code: "custom", message: `${variable} must be one of: ${values.join(", ")} (got '${value}')` });
    return z.NEVER;
  });
}

function boolean(variable: string) {
  return z.string().transform((value, ctx): boolean => {
    const lower = value.toLowerCase();
    if (["true", "1", "yes", "on"].includes(lower)) return true;
    if (["false", "0", "no", "off"].includes(lower)) return false;
    ctx.addIssue({ code: "custom", message: `${variable} must be true or false (got '${value}')` });
    return z.NEVER;
  });
}

function keyList(variable: string) {
  return z.string().transform((value, ctx): string[] => {
    const entries = value
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean);
    const bad = entries.find((e) => !/^[0-9A-Za-z!\-_.,*'()]{1,64}$/.test(e));
    if (entries.length === 0 || bad !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `${variable} must be a comma-separated list of named content keys and/or content types, e.g. callRecording,voicemail,screenRecording${bad ? ` (got '${bad}')` : ""}`,
      });
      return z.NEVER;
    }
    return entries.map((e) => e.toLowerCase());
  });
}

const httpHost = z.string().transform((value, ctx) => {
  const host = hostOrAddress(value);
  if (host !== undefined) return host;
  ctx.addIssue({ code: "custom", message: `VCC_HTTP_HOST (--host) must be an IP address or a host name (got '${value}')` });
  return z.NEVER;
});

const hostList = z.string().transform((value, ctx) => {
  const hosts: string[] = [];
  for (const item of value.split(",")) {
    if (!item.trim()) continue;
    const host = hostOrAddress(item.trim());
    if (host === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `VCC_HTTP_ALLOWED_HOSTS must be a comma-separated list of host names or IP addresses, without ports (got '${item.trim()}')`,
      });
      return z.NEVER;
    }
    hosts.push(host);
  }
  return hosts;
});

// Shared state of replicas (src/state/). The URL may carry a password (so it is a secret); beyond
// this machine only TLS (rediss://) is accepted: tokens, approvals and the password would otherwise
// cross the network in clear text.
const stateUrl = z.string().superRefine((value, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    (url.protocol !== "redis:" && url.protocol !== "rediss:") ||
    !url.hostname ||
    url.search ||
    url.hash ||
    !/^(\/\d{0,2})?$/.test(url.pathname)
  )
    ctx.addIssue({
      code: "custom",
      message: "VCC_STATE_URL must be rediss://[user:password@]host[:port][/db] (or redis:// on this machine), without query or fragment",
    });
  else if (url.protocol === "redis:" && !isLoopbackHost(url.hostname.replace(/^\[(.*)\]$/, "$1")))
    ctx.addIssue({
      code: "custom",
      message:
        "VCC_STATE_URL must use rediss:// (TLS) for a Redis on another machine: tokens, approvals and its password would otherwise cross the network in clear text (plain redis:// is accepted for loopback only)",
    });
});

// Which of the API's two scopes to obtain tokens for (a token names one scope). Separated by spaces
// or commas.
const scopeList = z
  .string()
  .transform((value) => [...new Set(value.split(/[\s,]+/).filter(Boolean))])
  .refine((scopes): scopes is Scope[] => scopes.length > 0 && scopes.every(isScope), {
    message: `VCC_SCOPES must name ${READ_SCOPE} and/or ${DELETE_SCOPE}, separated by spaces`,
  });

// ---------------------------------------------------------------------------------------------------
// THE CONFIGURATION SCHEMA: the one list of VCC_* variables. Everything else is derived from it: the
// `Config` type (nested as below), `loadConfig`, `--help` (src/index.ts), and `configReference()` for
// docs generators and the tests that check server.json and the MCPB manifest against it.
//
// To add a variable, add ONE entry below, in the group of the code that uses it:
//
//     someName: setting("VCC_SOME_NAME", integer("VCC_SOME_NAME", 1, 60), {
//       default: "5",                       // as typed in the environment; omit: the value may be undefined
//       description: "What it does, for people (accepted values and units).",
//       secret: true,                       // only for credentials: never logged, marked in server.json
//     }),
//
// The key's path is where the value appears in `Config` (here `config.<group>.someName`), typed by the
// parser's output; a default makes it never undefined. Parsers take the trimmed, non-empty string and
// report problems in one line that starts with the variable's name. Rules between variables and
// defaults computed from other variables belong in `resolve` below. Secret values are redacted from
// the log automatically (`secretValues`). A command-line flag (`flag: "--x"`) is documented here but
// parsed in src/index.ts. Variables offered to registry users go in server.json and scripts/mcpb.mjs
// too (tests check those lists against this schema).
// ---------------------------------------------------------------------------------------------------

/** One environment variable: its name, how it is parsed, and what people are told about it. */
export interface Setting<
  S extends z.ZodType<unknown, string> = z.ZodType<unknown, string>,
  D extends string | undefined = string | undefined,
> {
  readonly variable: string;
  readonly parse: S;
  /** The value used when the variable is unset, as it would be written in the environment. */
  readonly default: D;
  /** For documentation when the default is computed (e.g. from the region). */
  readonly defaultNote?: string;
  readonly description: string;
  readonly secret: boolean;
  /** The command-line flag that sets it, if any. */
  readonly flag?: string;
}

function setting<S extends z.ZodType<unknown, string>, const D extends string | undefined = undefined>(
  variable: string,
  parse: S,
  meta: { default?: D; defaultNote?: string; description: string; secret?: boolean; flag?: string },
): Setting<S, D> {
  return {
    variable,
    parse,
    default: meta.default as D,
    defaultNote: meta.defaultNote,
    description: meta.description,
    secret: meta.secret ?? false,
    flag: meta.flag,
  };
}

const SCHEMA = {
  api: {
    clientId: setting("VCC_CLIENT_ID", z.string(), {
      description: "Client id of the VCC API credentials (recommended); needs VCC_CLIENT_SECRET too.",
    }),
    clientSecret: setting("VCC_CLIENT_SECRET", z.string(), {
      description: "Client secret of the VCC API credentials. Never logged or shown.",
      secret: true,
    }),
    accessToken: setting("VCC_ACCESS_TOKEN", z.string(), {
      description:
        "Alternative to client credentials: a pasted bearer token. VCC issues a token for one scope: set VCC_SCOPES to it (else it is used for every request, as if it had both). Lasts two hours and is not renewed; wins over client credentials.",
      secret: true,
    }),
    scopes: setting("VCC_SCOPES", scopeList, {
      defaultNote: `${DELETE_SCOPE} ${READ_SCOPE}, or ${READ_SCOPE} alone when read-only`,
      description: `Scopes to obtain tokens for with client credentials, one token per scope: ${DELETE_SCOPE} and/or ${READ_SCOPE}, separated by spaces or commas. With VCC_ACCESS_TOKEN: the one scope it holds.`,
    }),
    region: setting("VCC_REGION", oneOf("VCC_REGION", REGION_NAMES), {
      default: "emea",
      description: "emea, nam or apac: picks the API host and the token endpoint.",
    }),
    baseUrl: setting("VCC_API_BASE_URL", endpointUrl("VCC_API_BASE_URL"), {
      defaultNote: "from the region",
      description: "Overrides the region: the base URL of the Interaction Content API (https; plain http on loopback only).",
    }),
    authUrl: setting("VCC_AUTH_URL", endpointUrl("VCC_AUTH_URL"), {
      defaultNote: "from the region",
      description: "Overrides the region: the OAuth 2.0 token endpoint (https; plain http on loopback only).",
    }),
    timeoutMs: setting("VCC_TIMEOUT_MS", integer("VCC_TIMEOUT_MS", 100, 600_000), {
      default: "15000",
      description: "Timeout of one attempt of an API request, and of one token request, in milliseconds (100-600000).",
    }),
    rateLimitWindowMs: setting("VCC_RATE_LIMIT_WINDOW_MS", integer("VCC_RATE_LIMIT_WINDOW_MS", 1_000, 600_000), {
      default: "60000",
      description:
        "After a second 429 in a row that does not say how long to wait (VCC documents no Retry-After): the window the API is taken to count requests over. Searches, planning, erasure jobs and bulk deletions then send no more requests in any such window than the API accepted in the one before the 429, and the refused request waits until that allows it, in milliseconds (1000-600000).",
    }),
    retry: {
      maxRetries: setting("VCC_MAX_RETRIES", integer("VCC_MAX_RETRIES", 0, 10), {
        default: "3",
        description: "Retries of an API request after 429, 500/502/503/504, a timeout or a broken connection (0-10; 0 disables).",
      }),
      deadlineMs: setting("VCC_DEADLINE_MS", integer("VCC_DEADLINE_MS", 100, 3_600_000), {
        default: "60000",
        description: "Overall limit of one API call, all attempts and waits included, in milliseconds (100-3600000).",
      }),
      baseDelayMs: setting("VCC_RETRY_BASE_MS", integer("VCC_RETRY_BASE_MS", 1, 60_000), {
        default: "500",
        description: "Base of the exponential backoff (full jitter) between attempts, in milliseconds (1-60000).",
      }),
    },
  },
  confirmation: {
    mode: setting("VCC_CONFIRMATION", oneOf("VCC_CONFIRMATION", CONFIRMATION_MODES), {
      default: "auto",
      description:
        "How a person confirms deletions: auto (prompt where the client can, else the approval page where the person can reach it: the local one, or a team server's behind sign-in; else a confirmation token), elicitation (prompt only), token (always a token), approval (prompt, else the approval page).",
    }),
    ttlSeconds: setting("VCC_CONFIRMATION_TTL_SECONDS", integer("VCC_CONFIRMATION_TTL_SECONDS", 1, 86_400), {
      default: "300",
      description: "How long a confirmation token stays valid, in seconds (1-86400).",
    }),
    elicitationTimeoutSeconds: setting("VCC_ELICITATION_TIMEOUT_SECONDS", integer("VCC_ELICITATION_TIMEOUT_SECONDS", 5, 3_600), {
      default: "120",
      description: "How long to wait for the person to answer a prompt or the approval page, in seconds (5-3600).",
    }),
    approvalPort: setting("VCC_APPROVAL_PORT", integer("VCC_APPROVAL_PORT", 1, 65_535), {
      defaultNote: "a free port",
      description: "Port of the local approval page (1-65535).",
    }),
    passkey: setting("VCC_APPROVAL_PASSKEY", oneOf("VCC_APPROVAL_PASSKEY", PASSKEY_MODES), {
      default: "off",
      description:
        "required: every deletion is approved on the approval page with a registered passkey (enrol with: vcc-interaction-content-mcp passkey add); off: no passkey.",
    }),
  },
  controls: {
    readOnly: setting("VCC_READ_ONLY", boolean("VCC_READ_ONLY"), {
      default: "false",
      flag: "--read-only",
      description: "true: the delete tools are not offered at all; the default scopes become read only.",
    }),
    dryRun: setting("VCC_DRY_RUN", boolean("VCC_DRY_RUN"), {
      default: "false",
      description: "true: everything runs, including confirmation, but no DELETE is sent.",
    }),
    allowedContentKeys: setting("VCC_ALLOWED_CONTENT_KEYS", keyList("VCC_ALLOWED_CONTENT_KEYS"), {
      defaultNote: "all",
      description: "Comma-separated named content keys and/or content types that may be deleted, e.g. callRecording,voicemail.",
    }),
  },
  audit: {
    logPath: setting("VCC_AUDIT_LOG", absolutePath("VCC_AUDIT_LOG"), {
      description: "Absolute path of an append-only JSON-lines audit log of decisions and deletion attempts.",
    }),
  },
  jobs: {
    dataDir: setting("VCC_DATA_DIR", absolutePath("VCC_DATA_DIR"), {
      defaultNote: "the user's state directory",
      description:
        "Absolute path of the directory where erasure jobs keep their plans, journals and receipts, and approval passkeys are registered.",
    }),
    approvalTtlHours: setting("VCC_JOB_APPROVAL_TTL_HOURS", integer("VCC_JOB_APPROVAL_TTL_HOURS", 1, 720), {
      default: "24",
      description: "How long an erasure job's approval stays valid for resuming it, in hours (1-720).",
    }),
  },
  state: {
    url: setting("VCC_STATE_URL", stateUrl, {
      defaultNote: "none: state in this process",
      description:
        "Replicas (docs/replicas.md): rediss://[user:password@]host[:port][/db] of a shared Redis or Valkey 6.2+; plain redis:// on this machine only.",
      secret: true,
    }),
    keyPrefix: setting(
      "VCC_STATE_KEY_PREFIX",
      z.string().regex(/^[\x21-\x7E]{1,64}$/, {
        message: "VCC_STATE_KEY_PREFIX must be 1-64 printable ASCII characters without spaces, e.g. vcc:prod:",
      }),
      {
        default: "vcc:",
        description:
          "With VCC_STATE_URL: the prefix of every Redis key and channel of this deployment, so that several deployments can share one Redis (each with its own).",
      },
    ),
    jobLeaseMs: setting("VCC_JOB_LEASE_MS", integer("VCC_JOB_LEASE_MS", 200, 3_600_000), {
      default: "60000",
      description:
        "With VCC_STATE_URL: how long a replica's lease on a running erasure job lasts unless renewed; another replica takes the job over this long after its replica died. At least twice VCC_TIMEOUT_MS (raised to that otherwise), in milliseconds (200-3600000; tests shorten it).",
    }),
    jobSweepMs: setting("VCC_JOB_SWEEP_MS", integer("VCC_JOB_SWEEP_MS", 50, 600_000), {
      default: "15000",
      description:
        "With VCC_STATE_URL: how often each replica looks for running erasure jobs whose lease lapsed, to take them over, in milliseconds (50-600000; tests shorten it).",
    }),
  },
  log: {
    level: setting("VCC_LOG_LEVEL", oneOf("VCC_LOG_LEVEL", LOG_LEVELS), {
      default: "info",
      description: "error, warn, info or debug (stderr only).",
    }),
  },
  sandbox: setting("VCC_SANDBOX", boolean("VCC_SANDBOX"), {
    default: "false",
    flag: "--sandbox",
    description: "true: use an in-process simulator with sample data instead of any real API; no credentials needed.",
  }),
  transport: setting("VCC_TRANSPORT", oneOf("VCC_TRANSPORT", TRANSPORTS), {
    default: "stdio",
    flag: "--http",
    description: "stdio or http (Streamable HTTP at http://<host>:<port>/mcp).",
  }),
  shutdown: {
    graceSeconds: setting("VCC_SHUTDOWN_GRACE_SECONDS", integer("VCC_SHUTDOWN_GRACE_SECONDS", 1, 600), {
      defaultNote: "5 (stdio), 10 (HTTP)",
      description:
        "On SIGTERM, SIGINT or stdin closed: how long to wait for deletions (and HTTP requests) in flight before exiting; a DELETE still in flight then is cut off, and audited and answered as of unknown outcome (an erasure job's is left to its journal: repeated when the job is resumed), in seconds (1-600).",
    }),
  },
  http: {
    port: setting("VCC_HTTP_PORT", integer("VCC_HTTP_PORT", 0, 65_535, "VCC_HTTP_PORT (--port)"), {
      default: "3333",
      flag: "--port",
      description: "HTTP only: the port; 0 picks a free one.",
    }),
    host: setting("VCC_HTTP_HOST", httpHost, {
      default: "127.0.0.1",
      flag: "--host",
      description: "HTTP only: the address to bind; any address other than loopback requires VCC_HTTP_BEARER or VCC_HTTP_AUTH=oauth.",
    }),
    // Never echo the value: it is a secret.
    bearer: setting(
      "VCC_HTTP_BEARER",
      z.string().regex(BEARER, {
        message:
          "VCC_HTTP_BEARER must be at least 16 characters from A-Z a-z 0-9 - . _ ~ + / (for example the output of: openssl rand -hex 32)",
      }),
      {
        description:
          "HTTP only: when set, every request must send Authorization: Bearer <this value>. At least 16 characters from A-Z a-z 0-9 - . _ ~ + /, e.g. openssl rand -hex 32.",
        secret: true,
      },
    ),
    auth: setting("VCC_HTTP_AUTH", oneOf("VCC_HTTP_AUTH", HTTP_AUTH), {
      defaultNote: "bearer when VCC_HTTP_BEARER is set, else none",
      description:
        "HTTP only: how clients authenticate: none (loopback only), bearer (VCC_HTTP_BEARER: one private user), or oauth (the team server: OAuth access tokens of VCC_OAUTH_ISSUER, see docs/team-server.md).",
    }),
    sessionIdleSeconds: setting("VCC_HTTP_SESSION_IDLE_SECONDS", integer("VCC_HTTP_SESSION_IDLE_SECONDS", 1, 86_400), {
      default: "1800",
      description: "HTTP only: a session with no request for this long ends, in seconds (1-86400).",
    }),
    maxSessions: setting("VCC_HTTP_MAX_SESSIONS", integer("VCC_HTTP_MAX_SESSIONS", 1, 100_000), {
      default: "1000",
      description: "HTTP only: sessions open at once; beyond it new sessions get 503 (1-100000).",
    }),
    sessionsPerMinute: setting("VCC_HTTP_SESSIONS_PER_MINUTE", integer("VCC_HTTP_SESSIONS_PER_MINUTE", 1, 100_000), {
      default: "60",
      description:
        "HTTP only: new sessions one client address (a person, on a team server) may start per minute; beyond it 429 (1-100000).",
    }),
    allowedHosts: setting("VCC_HTTP_ALLOWED_HOSTS", hostList, {
      default: "",
      defaultNote: "none",
      description:
        "HTTP only: extra host names clients may use in Host/Origin, comma-separated, without ports (e.g. a DNS alias or a reverse proxy's name).",
    }),
  },
  // The team server (VCC_HTTP_AUTH=oauth): docs/team-server.md.
  team: {
    publicUrl: setting(
      "VCC_HTTP_PUBLIC_URL",
      endpointUrl("VCC_HTTP_PUBLIC_URL").refine((value) => !URL.canParse(value) || ["", "/"].includes(new URL(value).pathname), {
        message: "VCC_HTTP_PUBLIC_URL must be an origin without a path, e.g. https://vcc-mcp.example.com",
      }),
      {
        description:
          "Team server: the https origin clients reach this server at (behind a TLS proxy, the proxy's), e.g. https://vcc-mcp.example.com.",
      },
    ),
    issuer: setting("VCC_OAUTH_ISSUER", endpointUrl("VCC_OAUTH_ISSUER"), {
      description: "Team server: the authorization server whose access tokens are accepted, exactly as the tokens' iss.",
    }),
    audience: setting("VCC_OAUTH_AUDIENCE", z.string(), {
      defaultNote: "the resource URL (VCC_HTTP_PUBLIC_URL + /mcp)",
      description:
        "Team server: what access tokens must name in aud, for providers that cannot use the resource URL (Entra ID: the API's client id).",
    }),
    readScope: setting("VCC_OAUTH_READ_SCOPE", scopeName("VCC_OAUTH_READ_SCOPE"), {
      default: "vcc.read",
      description: "Team server: the scope needed to list and search.",
    }),
    deleteScope: setting("VCC_OAUTH_DELETE_SCOPE", scopeName("VCC_OAUTH_DELETE_SCOPE"), {
      default: "vcc.delete",
      description: "Team server: the scope needed, with the read scope, for the deletion tools.",
    }),
    oidcClientId: setting("VCC_OIDC_CLIENT_ID", z.string(), {
      description: "Team server: this server's client id at the issuer, for approvers to sign in on the approval page (OpenID Connect).",
    }),
    oidcClientSecret: setting("VCC_OIDC_CLIENT_SECRET", z.string(), {
      description: "Team server: the client secret that goes with VCC_OIDC_CLIENT_ID.",
      secret: true,
    }),
    oidcScope: setting(
      "VCC_OIDC_SCOPE",
      z.string().refine((value) => value.split(/\s+/).includes("openid"), { message: "VCC_OIDC_SCOPE must include openid" }),
      {
        default: "openid profile email",
        description: "Team server: the scopes asked for when an approver signs in; add what puts the approver claim into the ID token.",
      },
    ),
    personClaim: setting(
      "VCC_PERSON_CLAIM",
      z.string().regex(/^[A-Za-z0-9_.-]+$/, { message: "VCC_PERSON_CLAIM must be a claim name, e.g. sub or oid" }),
      {
        default: "sub",
        description:
          "Team server: the claim that names a person the same way in access tokens and in approvers' ID tokens (audit records, the four-eyes rule): sub, or oid for Microsoft Entra ID, whose sub differs per application.",
      },
    ),
    separateApprover: setting("VCC_APPROVAL_SEPARATE_APPROVER", boolean("VCC_APPROVAL_SEPARATE_APPROVER"), {
      default: "false",
      description:
        "Team server, mode approval: true requires another person than the requester, carrying VCC_APPROVER_CLAIM, to approve (four eyes).",
    }),
    approverClaim: setting(
      "VCC_APPROVER_CLAIM",
      z.string().regex(/^[^:\s]+:\S+$/, { message: "VCC_APPROVER_CLAIM must be claim:value, e.g. groups:vcc-approvers" }),
      {
        description: "Team server: claim:value the approver's ID token must carry, e.g. groups:vcc-approvers or roles:VCC.Approver.",
      },
    ),
  },
  env: {
    // Read by env-files.ts from the real environment before loadConfig runs; listed here for --help and docs.
    file: setting("VCC_ENV_FILE", z.string(), {
      flag: "--env-file",
      description: "An env file to read settings from (the environment wins); read from the real environment only.",
    }),
  },
} as const;

/** A subtree of the schema: settings, or groups of them. */
interface Tree {
  readonly [key: string]: Setting | Tree;
}

type ValueOf<T> = T extends { readonly parse: infer S extends z.ZodType; readonly default: infer D }
  ? D extends string
    ? z.output<S>
    : z.output<S> | undefined
  : never;
type Values<T> = { -readonly [K in keyof T]: T[K] extends { readonly variable: string } ? ValueOf<T[K]> : Values<T[K]> };

/** What the parsed variables become before `resolve`: one value per setting, nested like SCHEMA. */
type Parsed = Values<typeof SCHEMA>;

/** The configuration: the schema's values, with the defaults that `resolve` computes from other variables. */
export type Config = Parsed & {
  api: { baseUrl: string; authUrl: string; scopes: Scope[] };
  http: { auth: HttpAuth; oauth?: OAuthConfig };
};
export type HttpConfig = Config["http"];
export type ApiConfig = Config["api"];

// Defaults computed from other variables, and rules between variables.
function resolve(c: Parsed): Config {
  const auth: HttpAuth = c.http.auth ?? (c.http.bearer ? "bearer" : "none");
  if (auth === "bearer" && !c.http.bearer) throw new ConfigError("VCC_HTTP_AUTH=bearer needs VCC_HTTP_BEARER");
  if (auth !== "bearer" && c.http.bearer)
    throw new ConfigError(`VCC_HTTP_BEARER is set but VCC_HTTP_AUTH is ${auth}: choose one way for clients to authenticate`);
  // Beyond this machine, anyone who can reach the port could ask for deletions: require authentication.
  if (c.transport === "http" && !isLoopbackHost(c.http.host) && auth === "none")
    throw new ConfigError(
      `VCC_HTTP_BEARER (or VCC_HTTP_AUTH=oauth) must be set when VCC_HTTP_HOST (--host) is not a loopback address (got '${c.http.host}'): clients must then authenticate`,
    );
  // A passkey is checked on the approval page only: a bare token or a client's own prompt would go around it.
  if (c.confirmation.passkey === "required" && (c.confirmation.mode === "token" || c.confirmation.mode === "elicitation"))
    throw new ConfigError(
      `VCC_APPROVAL_PASSKEY=required needs VCC_CONFIRMATION=auto or approval (got '${c.confirmation.mode}'): passkeys are checked on the approval page`,
    );
  const oauth = auth === "oauth" ? oauthConfig(c) : undefined;
  const region = REGIONS[c.api.region];
  return {
    ...c,
    http: { ...c.http, auth, ...(oauth ? { oauth } : {}) },
    api: {
      ...c.api,
      baseUrl: (c.api.baseUrl ?? region.apiBaseUrl).replace(/\/+$/, ""),
      authUrl: c.api.authUrl ?? region.authUrl,
      // What the enabled tools need: read-only servers offer no deletion, so they ask only to read.
      scopes: c.api.scopes ?? (c.controls.readOnly ? [READ_SCOPE] : [DELETE_SCOPE, READ_SCOPE]),
    },
  };
}

function isSetting(node: Setting | Tree): node is Setting {
  return typeof (node as Setting).variable === "string" && (node as Setting).parse instanceof z.ZodType;
}

/** The team server's settings (VCC_HTTP_AUTH=oauth), checked together. */
function oauthConfig(c: Parsed): OAuthConfig {
  const t = c.team;
  if (!t.issuer) throw new ConfigError("VCC_HTTP_AUTH=oauth needs VCC_OAUTH_ISSUER (the authorization server whose tokens are accepted)");
  if (!t.publicUrl)
    throw new ConfigError(
      "VCC_HTTP_AUTH=oauth needs VCC_HTTP_PUBLIC_URL (the https origin clients reach this server at, e.g. through a TLS proxy)",
    );
  if (t.readScope === t.deleteScope) throw new ConfigError("VCC_OAUTH_READ_SCOPE and VCC_OAUTH_DELETE_SCOPE must differ");
  if (!t.oidcClientId && t.oidcClientSecret) throw new ConfigError("VCC_OIDC_CLIENT_SECRET is set but VCC_OIDC_CLIENT_ID is not");
  // On a team server the approver is on another machine: the loopback page cannot serve them.
  if (c.confirmation.mode === "approval" && !t.oidcClientId)
    throw new ConfigError(
      "VCC_CONFIRMATION=approval with VCC_HTTP_AUTH=oauth needs VCC_OIDC_CLIENT_ID (and usually VCC_OIDC_CLIENT_SECRET): approvers sign in on the server's public origin",
    );
  // The team server's pages are behind the identity provider's sign-in (use its MFA); the passkey check
  // belongs to the loopback page, so requiring it here would be a promise the public page does not keep.
  if (c.confirmation.passkey === "required")
    throw new ConfigError(
      "VCC_APPROVAL_PASSKEY=required is not available with VCC_HTTP_AUTH=oauth: approvers sign in with the identity provider instead (require MFA there)",
    );
  if (t.separateApprover && c.confirmation.mode !== "approval")
    throw new ConfigError(
      "VCC_APPROVAL_SEPARATE_APPROVER=true needs VCC_CONFIRMATION=approval: only the approval page can tell who approves",
    );
  if (t.separateApprover && !t.approverClaim)
    throw new ConfigError("VCC_APPROVAL_SEPARATE_APPROVER=true needs VCC_APPROVER_CLAIM (e.g. groups:vcc-approvers): who may approve");
  const colon = t.approverClaim?.indexOf(":") ?? -1;
  return {
    issuer: t.issuer.replace(/\/+$/, ""),
    publicUrl: new URL(t.publicUrl).origin,
    ...(t.audience ? { audience: t.audience } : {}),
    readScope: t.readScope,
    deleteScope: t.deleteScope,
    ...(t.oidcClientId
      ? { oidc: { clientId: t.oidcClientId, ...(t.oidcClientSecret ? { clientSecret: t.oidcClientSecret } : {}), scope: t.oidcScope } }
      : {}),
    personClaim: t.personClaim,
    separateApprover: t.separateApprover,
    ...(t.approverClaim ? { approverClaim: { name: t.approverClaim.slice(0, colon), value: t.approverClaim.slice(colon + 1) } } : {}),
  };
}

/** Every setting with its path in `Config`, in schema order. */
function settings(tree: Tree = SCHEMA, path: string[] = []): { path: string[]; setting: Setting }[] {
  return Object.entries(tree).flatMap(([key, node]) =>
    isSetting(node) ? [{ path: [...path, key], setting: node }] : settings(node, [...path, key]),
  );
}

/** Reads configuration from an environment; throws ConfigError with one readable line. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const root: Record<string, unknown> = {};
  for (const { path, setting } of settings()) {
    // An empty variable (common in JSON client configs) means "not set".
    const raw = env[setting.variable]?.trim() || setting.default;
    let value: unknown;
    if (raw !== undefined) {
      const parsed = setting.parse.safeParse(raw);
      if (!parsed.success) {
        const message = parsed.error.issues[0]?.message ?? "invalid value";
        throw new ConfigError(message.startsWith(setting.variable) ? message : `${setting.variable}: ${message}`);
      }
      value = parsed.data;
    }
    let node = root;
    for (const key of path.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = value;
  }
  // The walk above follows SCHEMA, so `root` has the shape Values<typeof SCHEMA> describes.
  return resolve(root as Parsed);
}

/** The values of the secret variables that are set (for the log's redaction). */
/** The password of a URL-valued secret (e.g. redis://:pw@host), decoded as it would appear on its own. */
function passwordOf(value: string): string[] {
  try {
    const { password } = new URL(value);
    return password ? [decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}

export function secretValues(config: Config): string[] {
  const values: string[] = [];
  for (const { path, setting } of settings()) {
    if (!setting.secret) continue;
    let node: unknown = config;
    for (const key of path) node = (node as Record<string, unknown> | undefined)?.[key];
    if (typeof node === "string") values.push(node, ...passwordOf(node));
  }
  return values;
}

/** One variable as documentation generators, --help and tests see it. */
export interface VariableReference {
  name: string;
  /** Who uses it: the first part of its path in Config (e.g. "api", "http"). */
  group: string;
  /** Where its value is in Config, e.g. "api.retry.maxRetries". */
  path: string;
  description: string;
  /** The default as written in the environment; undefined: see defaultNote, or unset. */
  default?: string;
  /** The default in words when it is computed or has no text form (e.g. "from the region"). */
  defaultNote?: string;
  secret: boolean;
  flag?: string;
}

/** Every configuration variable, in schema order (grouped), for docs, --help and tests. */
export function configReference(): VariableReference[] {
  return settings().map(({ path, setting }) => ({
    name: setting.variable,
    group: path[0] as string,
    path: path.join("."),
    description: setting.description,
    ...(setting.default !== undefined && setting.default !== "" ? { default: setting.default } : {}),
    ...(setting.defaultNote !== undefined ? { defaultNote: setting.defaultNote } : {}),
    secret: setting.secret,
    ...(setting.flag !== undefined ? { flag: setting.flag } : {}),
  }));
}

/**
 * Whether a person can reach an approval page: over stdio (the client runs on this computer) and
 * over HTTP bound to loopback, the loopback page; on a team server, its public page when approvers can
 * sign in (VCC_OIDC_CLIENT_ID). Another HTTP server for other machines cannot offer one.
 */
export function approvalPageReachable(config: Pick<Config, "transport" | "http">): boolean {
  if (config.transport === "http" && config.http.oauth) return config.http.oauth.oidc !== undefined;
  return config.transport === "stdio" || isLoopbackHost(config.http.host);
}

/**
 * Whether deletions may be confirmed on the approval page: always in mode approval and with passkeys
 * required, and in mode auto (when the client cannot prompt) wherever the page is reachable.
 */
export function usesApprovalPage(config: Pick<Config, "confirmation" | "transport" | "http">): boolean {
  const { mode, passkey } = config.confirmation;
  if (mode === "approval" || passkey === "required") return true;
  return mode === "auto" && approvalPageReachable(config);
}

/** How many single-letter edits turn `a` into `b` (for a misspelt variable's nearest name). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * A warning for each VCC_ variable this server does not know: a misspelt one (VCC_REGOIN) would
 * otherwise be ignored without a word, and the server would run on the default. Names the nearest
 * known variable where one is close.
 */
export function unknownVariableWarnings(env: NodeJS.ProcessEnv): string[] {
  const known = settings().map(({ setting }) => setting.variable);
  const warnings: string[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith("VCC_") || known.includes(name)) continue;
    const nearest = known.map((k) => ({ k, d: editDistance(name, k) })).sort((x, y) => x.d - y.d)[0];
    const hint = nearest && nearest.d <= 3 ? ` Did you mean ${nearest.k}?` : " See configuration.md for the variables.";
    warnings.push(`${name} is not a setting of this server, so it is ignored.${hint}`);
  }
  return warnings;
}

/** A warning for each endpoint outside the VCC regions' hosts (where the client secret and tokens go). */
export function endpointWarnings(config: Config): string[] {
  if (config.sandbox) return [];
  const warnings: string[] = [];
  for (const [variable, value] of [
    ["VCC_API_BASE_URL", config.api.baseUrl],
    ["VCC_AUTH_URL", config.api.authUrl],
  ] as const) {
    const host = new URL(value).hostname.toLowerCase();
    if (!VCC_HOST_SUFFIXES.some((suffix) => host.endsWith(suffix)))
      warnings.push(
        `${variable} points to ${host}, outside the VCC regions' hosts (*${VCC_HOST_SUFFIXES.join(", *")}): ${variable === "VCC_AUTH_URL" ? "the client secret is" : "access tokens are"} sent there`,
      );
  }
  return warnings;
}

export type Credentials =
  | { kind: "static"; accessToken: string }
  | { kind: "client_credentials"; clientId: string; clientSecret: string }
  | { kind: "missing"; message: string };

/** Which credentials the server uses: a static VCC_ACCESS_TOKEN wins over client credentials. */
export function credentialsOf(config: Config): Credentials {
  // The sandbox brings its own simulator and token; nothing here is used.
  if (config.sandbox) return { kind: "static", accessToken: "sandbox-token" };
  if (config.api.accessToken) return { kind: "static", accessToken: config.api.accessToken };
  if (config.api.clientId && config.api.clientSecret)
    return { kind: "client_credentials", clientId: config.api.clientId, clientSecret: config.api.clientSecret };
  const restart =
    "in the server's environment or in a .env file (in the Claude Desktop extension: its API client ID and secret settings), then restart the server.";
  if (config.api.clientId)
    return { kind: "missing", message: `VCC_CLIENT_ID is set but VCC_CLIENT_SECRET is not: set VCC_CLIENT_SECRET ${restart}` };
  if (config.api.clientSecret)
    return { kind: "missing", message: `VCC_CLIENT_SECRET is set but VCC_CLIENT_ID is not: set VCC_CLIENT_ID ${restart}` };
  return {
    kind: "missing",
    // The scopes this server asks tokens for: reading too (list, search), not only deleting.
    message: `Set VCC_CLIENT_ID and VCC_CLIENT_SECRET (API credentials from the VCC Admin Portal, with the scope${config.api.scopes.length === 1 ? "" : "s"} ${config.api.scopes.join(" and ")}) ${restart} (A bearer token in VCC_ACCESS_TOKEN also works, but expires after two hours.) To try it without credentials, start it with --sandbox (the Claude Desktop extension: its Sandbox setting).`,
  };
}

/** What a user must set before a tool call can reach the API (undefined when ready). */
export function missingCredentials(config: Config): string | undefined {
  const credentials = credentialsOf(config);
  return credentials.kind === "missing" ? credentials.message : undefined;
}
