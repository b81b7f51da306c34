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
export const CONFIRMATION_MODES = ["auto", "elicitation", "token", "approval"] as const;
export type ConfirmationMode = (typeof CONFIRMATION_MODES)[number];
export const TRANSPORTS = ["stdio", "http"] as const;
export type TransportKind = (typeof TRANSPORTS)[number];

/** The Streamable HTTP transport (used with --http / VCC_TRANSPORT=http). */
export interface HttpConfig {
  /** Address to bind: an IP address (IPv6 without brackets) or a host name, lower case. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** When set, every request must carry `Authorization: Bearer <bearer>`. A secret. */
  bearer?: string;
  sessionIdleSeconds: number;
  /** Sessions open at once; beyond it new sessions are refused (503) unless an abandoned one can make room. */
  maxSessions: number;
  /** New sessions each client address may start per minute (429 beyond it). */
  sessionsPerMinute: number;
  /** Extra names clients may use in Host/Origin (e.g. a DNS alias or a reverse proxy's name). */
  allowedHosts: string[];
}

export interface Config {
  /** A static bearer token (lasts two hours); wins over client credentials. */
  accessToken?: string;
  /** API credentials for the OAuth 2.0 client-credentials grant (the recommended setup). */
  clientId?: string;
  clientSecret?: string;
  region: Region;
  apiBaseUrl: string;
  /** The OAuth 2.0 token endpoint. */
  authUrl: string;
  /**
   * The scopes the server obtains access tokens for with client credentials, one token (and one
   * token request) per scope. Not used with a static VCC_ACCESS_TOKEN.
   */
  scopes: Scope[];
  confirmation: ConfirmationMode;
  confirmationTtlSeconds: number;
  elicitationTimeoutSeconds: number;
  /** Port of the loopback approval page (mode approval); undefined: a free port chosen at start. */
  approvalPort?: number;
  timeoutMs: number;
  /** Retries of one API request after 429, 500/502/503/504, timeouts and broken connections (0 = none). */
  maxRetries: number;
  /** Overall limit of one API call, all attempts and waits included. */
  deadlineMs: number;
  /** Base of the exponential backoff (full jitter) between attempts. */
  retryBaseMs: number;
  logLevel: "error" | "warn" | "info" | "debug";
  /** Append-only JSON-lines audit trail of decisions and deletion attempts. */
  auditLogPath?: string;
  /** Where erasure jobs keep their plans, journals and receipts; undefined: the user's state directory (src/jobs/files.ts). */
  dataDir?: string;
  /** How long a shutdown waits for deletions (and HTTP requests) in flight; undefined: the transport's default. */
  shutdownGraceSeconds?: number;
  /** How long an erasure job's approval stays valid for resuming it. */
  jobApprovalTtlHours: number;
  /** Destructive tools are not registered at all. */
  readOnly: boolean;
  /** Everything runs, including confirmation, but no DELETE is sent. */
  dryRun: boolean;
  /** Named keys and/or content types that may be deleted (lower case); undefined = all. */
  allowedContentKeys?: string[];
  /** Talk to an in-process simulator with sample data; never to a real host. */
  sandbox: boolean;
  transport: TransportKind;
  http: HttpConfig;
}

/** A configuration problem: one line naming the variable and what it accepts. */
export class ConfigError extends Error {
  override name = "ConfigError";
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

// Which of the API's two scopes to obtain tokens for (a token names one scope). Separated by spaces
// or commas.
const scopeList = z
  .string()
  .transform((value) => [...new Set(value.split(/[\s,]+/).filter(Boolean))])
  .refine((scopes): scopes is Scope[] => scopes.length > 0 && scopes.every(isScope), {
    message: `VCC_SCOPES must name ${READ_SCOPE} and/or ${DELETE_SCOPE}, separated by spaces`,
  });

const envSchema = z.object({
  VCC_ACCESS_TOKEN: z.string().optional(),
  VCC_CLIENT_ID: z.string().optional(),
  VCC_CLIENT_SECRET: z.string().optional(),
  VCC_SCOPES: scopeList.optional(),
  VCC_REGION: oneOf("VCC_REGION", ["emea", "nam", "apac"]).default("emea"),
  VCC_API_BASE_URL: endpointUrl("VCC_API_BASE_URL").optional(),
  VCC_AUTH_URL: endpointUrl("VCC_AUTH_URL").optional(),
  VCC_CONFIRMATION: oneOf("VCC_CONFIRMATION", CONFIRMATION_MODES).default("auto"),
  VCC_CONFIRMATION_TTL_SECONDS: integer("VCC_CONFIRMATION_TTL_SECONDS", 1, 86_400).default(300),
  VCC_ELICITATION_TIMEOUT_SECONDS: integer("VCC_ELICITATION_TIMEOUT_SECONDS", 5, 3_600).default(120),
  VCC_APPROVAL_PORT: integer("VCC_APPROVAL_PORT", 1, 65_535).optional(),
  VCC_TIMEOUT_MS: integer("VCC_TIMEOUT_MS", 100, 600_000).default(15_000),
  VCC_MAX_RETRIES: integer("VCC_MAX_RETRIES", 0, 10).default(3),
  VCC_DEADLINE_MS: integer("VCC_DEADLINE_MS", 100, 3_600_000).default(60_000),
  VCC_RETRY_BASE_MS: integer("VCC_RETRY_BASE_MS", 1, 60_000).default(500),
  VCC_LOG_LEVEL: oneOf("VCC_LOG_LEVEL", ["error", "warn", "info", "debug"]).default("info"),
  VCC_AUDIT_LOG: z.string().optional(),
  // Absolute: a server started by an MCP client has no working directory the user chose.
  VCC_DATA_DIR: z
    .string()
    .refine((value) => isAbsolute(value), { message: "VCC_DATA_DIR must be an absolute path" })
    .optional(),
  VCC_SHUTDOWN_GRACE_SECONDS: integer("VCC_SHUTDOWN_GRACE_SECONDS", 1, 600).optional(),
  VCC_JOB_APPROVAL_TTL_HOURS: integer("VCC_JOB_APPROVAL_TTL_HOURS", 1, 720).default(24),
  VCC_READ_ONLY: boolean("VCC_READ_ONLY").default(false),
  VCC_DRY_RUN: boolean("VCC_DRY_RUN").default(false),
  VCC_ALLOWED_CONTENT_KEYS: keyList("VCC_ALLOWED_CONTENT_KEYS").optional(),
  VCC_SANDBOX: boolean("VCC_SANDBOX").default(false),
  VCC_TRANSPORT: oneOf("VCC_TRANSPORT", TRANSPORTS).default("stdio"),
  VCC_HTTP_PORT: integer("VCC_HTTP_PORT", 0, 65_535, "VCC_HTTP_PORT (--port)").default(3333),
  VCC_HTTP_HOST: z
    .string()
    .transform((value, ctx) => {
      const host = hostOrAddress(value);
      if (host !== undefined) return host;
      ctx.addIssue({ code: "custom", message: `VCC_HTTP_HOST (--host) must be an IP address or a host name (got '${value}')` });
      return z.NEVER;
    })
    .default("127.0.0.1"),
  // Never echo the value: it is a secret.
  VCC_HTTP_BEARER: z
    .string()
    .regex(BEARER, {
      message:
        "VCC_HTTP_BEARER must be at least 16 characters from A-Z a-z 0-9 - . _ ~ + / (for example the output of: openssl rand -hex 32)",
    })
    .optional(),
  VCC_HTTP_SESSION_IDLE_SECONDS: integer("VCC_HTTP_SESSION_IDLE_SECONDS", 1, 86_400).default(1800),
  VCC_HTTP_MAX_SESSIONS: integer("VCC_HTTP_MAX_SESSIONS", 1, 100_000).default(1000),
  VCC_HTTP_SESSIONS_PER_MINUTE: integer("VCC_HTTP_SESSIONS_PER_MINUTE", 1, 100_000).default(60),
  VCC_HTTP_ALLOWED_HOSTS: z
    .string()
    .transform((value, ctx) => {
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
    })
    .default([]),
});

/** Reads configuration from an environment; throws ConfigError with one readable line. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  // An empty variable (common in JSON client configs) means "not set".
  const present: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key]?.trim();
    if (value) present[key] = value;
  }
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? "configuration");
    const message = issue?.message ?? "invalid value";
    throw new ConfigError(message.startsWith(variable) ? message : `${variable}: ${message}`);
  }
  const e = parsed.data;
  // Beyond this machine, anyone who can reach the port could ask for deletions: require a bearer.
  if (e.VCC_TRANSPORT === "http" && !isLoopbackHost(e.VCC_HTTP_HOST) && !e.VCC_HTTP_BEARER)
    throw new ConfigError(
      `VCC_HTTP_BEARER must be set when VCC_HTTP_HOST (--host) is not a loopback address (got '${e.VCC_HTTP_HOST}'): clients must then authenticate with it`,
    );
  return {
    accessToken: e.VCC_ACCESS_TOKEN,
    clientId: e.VCC_CLIENT_ID,
    clientSecret: e.VCC_CLIENT_SECRET,
    region: e.VCC_REGION,
    apiBaseUrl: (e.VCC_API_BASE_URL ?? REGIONS[e.VCC_REGION].apiBaseUrl).replace(/\/+$/, ""),
    authUrl: e.VCC_AUTH_URL ?? REGIONS[e.VCC_REGION].authUrl,
    scopes: e.VCC_SCOPES ?? defaultScopes(e),
    confirmation: e.VCC_CONFIRMATION,
    confirmationTtlSeconds: e.VCC_CONFIRMATION_TTL_SECONDS,
    elicitationTimeoutSeconds: e.VCC_ELICITATION_TIMEOUT_SECONDS,
    approvalPort: e.VCC_APPROVAL_PORT,
    timeoutMs: e.VCC_TIMEOUT_MS,
    maxRetries: e.VCC_MAX_RETRIES,
    deadlineMs: e.VCC_DEADLINE_MS,
    retryBaseMs: e.VCC_RETRY_BASE_MS,
    logLevel: e.VCC_LOG_LEVEL,
    auditLogPath: e.VCC_AUDIT_LOG,
    dataDir: e.VCC_DATA_DIR,
    shutdownGraceSeconds: e.VCC_SHUTDOWN_GRACE_SECONDS,
    jobApprovalTtlHours: e.VCC_JOB_APPROVAL_TTL_HOURS,
    readOnly: e.VCC_READ_ONLY,
    dryRun: e.VCC_DRY_RUN,
    allowedContentKeys: e.VCC_ALLOWED_CONTENT_KEYS,
    sandbox: e.VCC_SANDBOX,
    transport: e.VCC_TRANSPORT,
    http: {
      host: e.VCC_HTTP_HOST,
      port: e.VCC_HTTP_PORT,
      bearer: e.VCC_HTTP_BEARER,
      sessionIdleSeconds: e.VCC_HTTP_SESSION_IDLE_SECONDS,
      maxSessions: e.VCC_HTTP_MAX_SESSIONS,
      sessionsPerMinute: e.VCC_HTTP_SESSIONS_PER_MINUTE,
      allowedHosts: e.VCC_HTTP_ALLOWED_HOSTS,
    },
  };
}

/** A warning for each endpoint outside the VCC regions' hosts (where the client secret and tokens go). */
export function endpointWarnings(config: Config): string[] {
  if (config.sandbox) return [];
  const warnings: string[] = [];
  for (const [variable, value] of [
    ["VCC_API_BASE_URL", config.apiBaseUrl],
    ["VCC_AUTH_URL", config.authUrl],
  ] as const) {
    const host = new URL(value).hostname.toLowerCase();
    if (!VCC_HOST_SUFFIXES.some((suffix) => host.endsWith(suffix)))
      warnings.push(
        `${variable} points to ${host}, outside the VCC regions' hosts (*${VCC_HOST_SUFFIXES.join(", *")}): ${variable === "VCC_AUTH_URL" ? "the client secret is" : "access tokens are"} sent there`,
      );
  }
  return warnings;
}

/** What the enabled tools need: read-only servers offer no deletion, so they ask only to read. */
function defaultScopes(env: z.infer<typeof envSchema>): Scope[] {
  return env.VCC_READ_ONLY ? [READ_SCOPE] : [DELETE_SCOPE, READ_SCOPE];
}

export type Credentials =
  | { kind: "static"; accessToken: string }
  | { kind: "client_credentials"; clientId: string; clientSecret: string }
  | { kind: "missing"; message: string };

/** Which credentials the server uses: a static VCC_ACCESS_TOKEN wins over client credentials. */
export function credentialsOf(config: Config): Credentials {
  // The sandbox brings its own simulator and token; nothing here is used.
  if (config.sandbox) return { kind: "static", accessToken: "sandbox-token" };
  if (config.accessToken) return { kind: "static", accessToken: config.accessToken };
  if (config.clientId && config.clientSecret)
    return { kind: "client_credentials", clientId: config.clientId, clientSecret: config.clientSecret };
  const restart = "in the server's environment or in a .env file, then restart the server.";
  if (config.clientId)
    return { kind: "missing", message: `VCC_CLIENT_ID is set but VCC_CLIENT_SECRET is not: set VCC_CLIENT_SECRET ${restart}` };
  if (config.clientSecret)
    return { kind: "missing", message: `VCC_CLIENT_SECRET is set but VCC_CLIENT_ID is not: set VCC_CLIENT_ID ${restart}` };
  return {
    kind: "missing",
    message: `Set VCC_CLIENT_ID and VCC_CLIENT_SECRET (API credentials from the VCC Admin Portal, with scope ${DELETE_SCOPE}) ${restart} (A bearer token in VCC_ACCESS_TOKEN also works, but expires after two hours.)`,
  };
}

/** What a user must set before a tool call can reach the API (undefined when ready). */
export function missingCredentials(config: Config): string | undefined {
  const credentials = credentialsOf(config);
  return credentials.kind === "missing" ? credentials.message : undefined;
}
