// All configuration, read from the environment (and a quiet .env) and validated once at start.
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

export interface Config {
  accessToken?: string;
  region: Region;
  apiBaseUrl: string;
  confirmation: ConfirmationMode;
  confirmationTtlSeconds: number;
  elicitationTimeoutSeconds: number;
  timeoutMs: number;
  logLevel: "error" | "warn" | "info" | "debug";
  /** Append-only JSON-lines audit trail of decisions and deletion attempts. */
  auditLogPath?: string;
  /** Destructive tools are not registered at all. */
  readOnly: boolean;
  /** Everything runs, including confirmation, but no DELETE is sent. */
  dryRun: boolean;
  /** Named keys and/or content types that may be deleted (lower case); undefined = all. */
  allowedContentKeys?: string[];
  /** Talk to an in-process simulator with sample data; never to a real host. */
  sandbox: boolean;
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

function integer(variable: string, min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, { message: `${variable} must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `${variable} must be a whole number from ${min} to ${max}` });
}

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

const envSchema = z.object({
  VCC_ACCESS_TOKEN: z.string().optional(),
  VCC_REGION: oneOf("VCC_REGION", ["emea", "nam", "apac"]).default("emea"),
  VCC_API_BASE_URL: httpUrl("VCC_API_BASE_URL").optional(),
  VCC_CONFIRMATION: oneOf("VCC_CONFIRMATION", CONFIRMATION_MODES).default("auto"),
  VCC_CONFIRMATION_TTL_SECONDS: integer("VCC_CONFIRMATION_TTL_SECONDS", 1, 86_400).default(300),
  VCC_ELICITATION_TIMEOUT_SECONDS: integer("VCC_ELICITATION_TIMEOUT_SECONDS", 5, 3_600).default(120),
  VCC_TIMEOUT_MS: integer("VCC_TIMEOUT_MS", 100, 600_000).default(15_000),
  VCC_LOG_LEVEL: oneOf("VCC_LOG_LEVEL", ["error", "warn", "info", "debug"]).default("info"),
  VCC_AUDIT_LOG: z.string().optional(),
  VCC_READ_ONLY: boolean("VCC_READ_ONLY").default(false),
  VCC_DRY_RUN: boolean("VCC_DRY_RUN").default(false),
  VCC_ALLOWED_CONTENT_KEYS: keyList("VCC_ALLOWED_CONTENT_KEYS").optional(),
  VCC_SANDBOX: boolean("VCC_SANDBOX").default(false),
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
  return {
    accessToken: e.VCC_ACCESS_TOKEN,
    region: e.VCC_REGION,
    apiBaseUrl: (e.VCC_API_BASE_URL ?? REGIONS[e.VCC_REGION].apiBaseUrl).replace(/\/+$/, ""),
    confirmation: e.VCC_CONFIRMATION,
    confirmationTtlSeconds: e.VCC_CONFIRMATION_TTL_SECONDS,
    elicitationTimeoutSeconds: e.VCC_ELICITATION_TIMEOUT_SECONDS,
    timeoutMs: e.VCC_TIMEOUT_MS,
    logLevel: e.VCC_LOG_LEVEL,
    auditLogPath: e.VCC_AUDIT_LOG,
    readOnly: e.VCC_READ_ONLY,
    dryRun: e.VCC_DRY_RUN,
    allowedContentKeys: e.VCC_ALLOWED_CONTENT_KEYS,
    sandbox: e.VCC_SANDBOX,
  };
}

/** Which variables a user must set before a tool call can reach the API (empty when ready). */
export function missingCredentials(config: Config): string | undefined {
  if (config.accessToken || config.sandbox) return undefined;
  return "Set VCC_ACCESS_TOKEN to a bearer token for the Interaction Content API (scope interaction-content:delete) in the server's environment or in a .env file, then restart the server.";
}
