// All configuration, read from the environment (and a quiet .env) and validated once at start.
import { isIP } from "node:net";
import { z } from "zod";

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
export const CONFIRMATION_MODES = ["auto", "elicitation", "token"] as const;
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
  /** Extra names clients may use in Host/Origin (e.g. a DNS alias or a reverse proxy's name). */
  allowedHosts: string[];
}

export interface Config {
  accessToken?: string;
  region: Region;
  apiBaseUrl: string;
  confirmation: ConfirmationMode;
  confirmationTtlSeconds: number;
  elicitationTimeoutSeconds: number;
  timeoutMs: number;
  logLevel: "error" | "warn" | "info" | "debug";
  transport: TransportKind;
  http: HttpConfig;
}

/** A configuration problem: one line naming the variable and what it accepts. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

function httpUrl(variable: string) {
  return z.string().refine(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === "https:" || url.protocol === "http:") && !url.search && !url.hash;
      } catch {
        return false;
      }
    },
    { message: `${variable} must be an absolute http(s) URL without query or fragment` },
  );
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

const envSchema = z.object({
  VCC_ACCESS_TOKEN: z.string().optional(),
  VCC_REGION: oneOf("VCC_REGION", ["emea", "nam", "apac"]).default("emea"),
  VCC_API_BASE_URL: httpUrl("VCC_API_BASE_URL").optional(),
  VCC_CONFIRMATION: oneOf("VCC_CONFIRMATION", CONFIRMATION_MODES).default("auto"),
  VCC_CONFIRMATION_TTL_SECONDS: integer("VCC_CONFIRMATION_TTL_SECONDS", 1, 86_400).default(300),
  VCC_ELICITATION_TIMEOUT_SECONDS: integer("VCC_ELICITATION_TIMEOUT_SECONDS", 5, 3_600).default(120),
  VCC_TIMEOUT_MS: integer("VCC_TIMEOUT_MS", 100, 600_000).default(15_000),
  VCC_LOG_LEVEL: oneOf("VCC_LOG_LEVEL", ["error", "warn", "info", "debug"]).default("info"),
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
    region: e.VCC_REGION,
    apiBaseUrl: (e.VCC_API_BASE_URL ?? REGIONS[e.VCC_REGION].apiBaseUrl).replace(/\/+$/, ""),
    confirmation: e.VCC_CONFIRMATION,
    confirmationTtlSeconds: e.VCC_CONFIRMATION_TTL_SECONDS,
    elicitationTimeoutSeconds: e.VCC_ELICITATION_TIMEOUT_SECONDS,
    timeoutMs: e.VCC_TIMEOUT_MS,
    logLevel: e.VCC_LOG_LEVEL,
    transport: e.VCC_TRANSPORT,
    http: {
      host: e.VCC_HTTP_HOST,
      port: e.VCC_HTTP_PORT,
      bearer: e.VCC_HTTP_BEARER,
      sessionIdleSeconds: e.VCC_HTTP_SESSION_IDLE_SECONDS,
      allowedHosts: e.VCC_HTTP_ALLOWED_HOSTS,
    },
  };
}

/** Which variables a user must set before a tool call can reach the API (empty when ready). */
export function missingCredentials(config: Config): string | undefined {
  if (config.accessToken) return undefined;
  return "Set VCC_ACCESS_TOKEN to a bearer token for the Interaction Content API (scope interaction-content:delete) in the server's environment or in a .env file, then restart the server.";
}
