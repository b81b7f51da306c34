// The one error mapping: every failure becomes a ToolError with a stable code and a message that
// tells the assistant what to do next.
import type { ToolError } from "../core/errors.js";
import { redact, redactJson } from "../log.js";
import { DELETE_SCOPE, READ_SCOPE, type Scope } from "./scopes.js";

export type { ErrorCode, ToolError } from "../core/errors.js";

const UPSTREAM_MESSAGE_LIMIT = 500;

/**
 * The API's JSON `message` (or a short plain-text body), redacted and capped; undefined for HTML or
 * empty bodies. Redacted because it reaches results and prompts: an upstream that echoes the request
 * would otherwise put the access token (or a secret) into the conversation.
 */
export function upstreamMessageOf(body: string, contentType: string | undefined): string | undefined {
  const text = body.trim();
  if (!text) return undefined;
  let message: string | undefined;
  if (contentType?.includes("json") || text.startsWith("{")) {
    try {
      // Redacted once parsed, so that JSON escapes (`\/`, `\u002f`) cannot hide a token; a body
      // without a message field is shown as the redacted value written out again, not as its text.
      const parsed = redactJson(JSON.parse(text));
      if (parsed && typeof parsed === "object") {
        const record = parsed as Record<string, unknown>;
        const candidate = record.message ?? record.Message ?? record.error_description ?? record.error;
        message = typeof candidate === "string" ? candidate : JSON.stringify(parsed);
      } else if (typeof parsed === "string") message = parsed;
    } catch {
      // Not JSON after all: fall through to the plain-text rule.
    }
  }
  if (message === undefined && !/^\s*</.test(text) && !contentType?.includes("html")) message = text;
  if (message === undefined) return undefined;
  message = redact(message);
  return message.length > UPSTREAM_MESSAGE_LIMIT ? `${message.slice(0, UPSTREAM_MESSAGE_LIMIT - 1)}…` : message;
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date). */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  // Seconds (a fraction rounded up: "1.5" is not a date of 2001), else an HTTP date, which has a month's name.
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value));
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

export interface HttpFailure {
  status: number;
  body: string;
  contentType?: string;
  retryAfter?: string;
}

/** Where the access token came from: decides what a 401 means and what to advise. */
export type CredentialKind = "static" | "client_credentials";

const UNAUTHORIZED_MESSAGE: Record<CredentialKind, string> = {
  static:
    "The API did not accept VCC_ACCESS_TOKEN (401): it is invalid or has expired. VCC access tokens last only two hours, so a pasted token stops working the same day. Configure VCC_CLIENT_ID and VCC_CLIENT_SECRET (API credentials from the VCC Admin Portal) instead, and remove VCC_ACCESS_TOKEN: the server then obtains and renews tokens itself. Or set a fresh VCC_ACCESS_TOKEN. Restart the server after the change. Nothing was deleted.",
  client_credentials:
    "The API refused the access token (401) even after the server obtained a fresh one from the token endpoint. Check that the API credentials (VCC_CLIENT_ID) belong to the VCC account and region this server talks to (VCC_REGION, or VCC_API_BASE_URL and VCC_AUTH_URL), and that they are still active in the VCC Admin Portal. Nothing was deleted.",
};

/** Maps a non-success HTTP answer from the Interaction Content API to a ToolError. */
export function errorForStatus(
  failure: HttpFailure,
  subject: string,
  operation: "delete" | "read" = "delete",
  credentials: CredentialKind = "static",
): ToolError {
  if (operation === "read" && (failure.status === 403 || failure.status === 404)) return readError(failure, subject, credentials);
  const { status } = failure;
  const upstreamMessage = upstreamMessageOf(failure.body, failure.contentType);
  const base = { httpStatus: status, ...(upstreamMessage ? { upstreamMessage } : {}) };
  if (status === 400)
    return {
      code: "bad_request",
      message: `The API rejected the request as invalid (400)${upstreamMessage ? `: ${upstreamMessage}` : ""}. Check the interaction GUID and content key; do not retry unchanged.`,
      ...base,
    };
  if (status === 401) return { code: "unauthorized", message: UNAUTHORIZED_MESSAGE[credentials], ...base };
  if (status === 403)
    return {
      code: "forbidden",
      message:
        credentials === "static"
          ? `The API refused access (403): the pasted VCC_ACCESS_TOKEN does not hold the scope ${DELETE_SCOPE} (VCC issues a token for one scope), or has no access to ${subject}. Use a token for ${DELETE_SCOPE} with VCC_SCOPES=${DELETE_SCOPE}, or client credentials (VCC_CLIENT_ID, VCC_CLIENT_SECRET: a token per scope). Nothing was deleted.`
          : `The API refused access (403): the credentials lack the scope ${DELETE_SCOPE}, or have no access to ${subject}. Ask a VCC administrator to grant it. Nothing was deleted.`,
      ...base,
    };
  if (status === 404)
    return {
      code: "not_found",
      message: `The API found nothing at ${subject} (404): the content is already gone, or the interaction GUID or content key is wrong. Use list_interaction_content to see what the interaction still holds.`,
      ...base,
    };
  if (status === 429) {
    const retryAfterSeconds = parseRetryAfter(failure.retryAfter);
    return {
      code: "rate_limited",
      message: `The API refused the request as too many (429: the account's rate limit, shared by its VCC APIs, or another deletion in progress)${retryAfterSeconds !== undefined ? `; it asks to wait ${retryAfterSeconds} s` : ""}. Nothing was deleted. Wait${retryAfterSeconds !== undefined ? "" : " a minute"}, then try again.`,
      ...base,
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    };
  }
  if (status >= 500) {
    if (operation === "delete" && MAYBE_CARRIED_OUT.has(status))
      return {
        code: "upstream_error",
        message: `The VCC API answered ${status}, a gateway or server error that can come after the deletion was carried out, so ${subject} may or may not have been deleted. Check with list_interaction_content before asking the user to confirm again.`,
        ...base,
        outcomeUnknown: true,
      };
    return {
      code: "upstream_error",
      message:
        operation === "delete"
          ? `The VCC API failed with ${status}, which means the request was not carried out: ${subject} was not deleted. Try again later, and contact Vonage support if it persists.`
          : `The VCC API failed with ${status} while reading ${subject}. Nothing was changed. Try again later, and contact Vonage support if it persists.`,
      ...base,
    };
  }
  return {
    code: "unexpected_status",
    message: `The API answered with an unexpected status ${status}. The outcome is unknown; check with list_interaction_content.`,
    ...base,
    outcomeUnknown: true,
  };
}

function readError(failure: HttpFailure, subject: string, credentials: CredentialKind): ToolError {
  const upstreamMessage = upstreamMessageOf(failure.body, failure.contentType);
  const base = { httpStatus: failure.status, ...(upstreamMessage ? { upstreamMessage } : {}) };
  if (failure.status === 403)
    return {
      code: "forbidden",
      message:
        credentials === "static"
          ? `The API refused to read ${subject} (403): the pasted VCC_ACCESS_TOKEN does not hold the scope ${READ_SCOPE} (VCC issues a token for one scope), or has no access to this interaction. For reading, use client credentials (VCC_CLIENT_ID, VCC_CLIENT_SECRET: a token per scope), or set VCC_SCOPES to the one scope the token holds.`
          : `The API refused to read ${subject} (403): the credentials lack the scope ${READ_SCOPE}, or have no access to this interaction. Ask a VCC administrator to grant it.`,
      ...base,
    };
  return {
    code: "not_found",
    message: `The API has nothing for ${subject} (404): no interaction with this GUID exists, or all of its content has already been deleted. Check the GUID.`,
    ...base,
  };
}

/** A request that could not be completed: refused connection (nothing sent) or worse (unknown). */
export function errorForTransport(
  cause: unknown,
  subject: string,
  timeoutMs: number,
  kind: "timeout" | "cancelled" | "network",
  operation: "delete" | "read" = "delete",
): ToolError {
  const code = (cause as { code?: string } | undefined)?.code;
  const neverSent = kind === "network" && (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN");
  if (operation === "read") {
    // A read changes nothing, so there is no unknown outcome to report.
    const what =
      kind === "timeout"
        ? `did not answer within ${timeoutMs} ms`
        : kind === "cancelled"
          ? "request was cancelled"
          : `could not be reached${code ? ` (${code})` : ""}`;
    return {
      code: kind === "timeout" ? "timeout" : kind === "cancelled" ? "cancelled" : "network_error",
      message: `Reading ${subject} failed: the VCC API ${what}. Nothing was changed. Check VCC_REGION / VCC_API_BASE_URL and the network, then try again.`,
    };
  }
  if (kind === "timeout")
    return {
      code: "timeout",
      message: `The API did not answer within ${timeoutMs} ms. The request may have reached it, so ${subject} may or may not have been deleted: check with list_interaction_content before asking the user to confirm again.`,
      outcomeUnknown: true,
    };
  if (kind === "cancelled")
    return {
      code: "cancelled",
      message: `The request was cancelled while it was in flight; ${subject} may or may not have been deleted. Check with list_interaction_content.`,
      outcomeUnknown: true,
    };
  if (neverSent)
    return {
      code: "network_error",
      message: `Could not connect to the VCC API (${code}). Nothing was sent and nothing was deleted. Check VCC_REGION / VCC_API_BASE_URL and the network, then try again.`,
    };
  return {
    code: "network_error",
    message: `The connection to the VCC API failed${code ? ` (${code})` : ""} before an answer arrived. The request may have reached it, so ${subject} may or may not have been deleted: check with list_interaction_content.`,
    outcomeUnknown: true,
  };
}

/**
 * Answers to a DELETE that do not say it was not carried out: a gateway (502, 504) or the server
 * (500) may fail after the API behind it deleted the content. 503 and 429 refuse before doing anything.
 */
export const MAYBE_CARRIED_OUT: ReadonlySet<number> = new Set([500, 502, 504]);

/** Answers worth another attempt: rate limiting, and server or gateway failures that are usually brief. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** Transport failures worth another attempt: all but an unknown host name (a configuration error). */
export function isRetryableTransport(cause: unknown, kind: "timeout" | "cancelled" | "network"): boolean {
  if (kind === "cancelled") return false;
  return kind === "timeout" || (cause as { code?: string } | undefined)?.code !== "ENOTFOUND";
}

/** Appended to the final error of a call that made more than one attempt. */
export function withAttempts(error: ToolError, attempts: number): ToolError {
  return attempts > 1 ? { ...error, message: `${error.message} (${attempts} attempts were made.)` } : error;
}

/**
 * The final error of a deletion after an earlier attempt that may have been carried out (no answer,
 * or a 500/502/504): whatever the last attempt was told, the outcome is unknown.
 */
export function errorAfterUnknownAttempt(last: ToolError, subject: string, attempts: number): ToolError {
  if (last.outcomeUnknown) return withAttempts(last, attempts);
  const answer = last.httpStatus !== undefined ? `HTTP ${last.httpStatus} (${last.code})` : last.code;
  return {
    ...last,
    outcomeUnknown: true,
    message: `Outcome unknown: an earlier attempt got no answer or a gateway error (timeout, broken connection, HTTP 500/502/504) and may have been carried out, so ${subject} may or may not have been deleted; the last of ${attempts} attempts ended with ${answer}. Check with list_interaction_content before asking the user to confirm again.`,
  };
}

/** The caller cancelled while no request was in flight (before the first attempt, or between attempts). */
export function errorCancelledBetweenAttempts(
  subject: string,
  operation: "delete" | "read",
  attempts: number,
  earlierUnknown: boolean,
): ToolError {
  if (operation === "read") return { code: "cancelled", message: `Reading ${subject} was cancelled. Nothing was changed.` };
  if (attempts === 0) return { code: "cancelled", message: `The request was cancelled before it was sent: ${subject} was not deleted.` };
  if (earlierUnknown)
    return {
      code: "cancelled",
      outcomeUnknown: true,
      message: `The request was cancelled while waiting to try again. An earlier attempt got no answer or a gateway error and may have been carried out, so ${subject} may or may not have been deleted: check with list_interaction_content.`,
    };
  return {
    code: "cancelled",
    message: `The request was cancelled while waiting to try again; no request was in flight and none of the ${attempts} attempt(s) succeeded (each was refused or failed), so ${subject} was not deleted.`,
  };
}

// The token endpoint (OAuth 2.0 client credentials). Its failures are auth_failed: no access token,
// so the API request was not carried out. httpStatus stays unset: it would read as the API's status.

/** Printable ASCII without '"' or '\': the characters RFC 6749 §5.2 allows in error and error_description. */
const OAUTH_TEXT = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

/** The OAuth `error` and `error_description` of a token endpoint answer, when well-formed. */
export function oauthErrorOf(body: string): { error?: string; description?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return {};
  }
  if (!parsed || typeof parsed !== "object") return {};
  const { error, error_description: description } = parsed as Record<string, unknown>;
  const clean = (value: unknown, limit: number) =>
    // Redacted as well: an endpoint that echoes the request must not put the secret into a result.
    typeof value === "string" && value.length <= limit && OAUTH_TEXT.test(value) ? redact(value) : undefined;
  return { error: clean(error, 100), description: clean(description, UPSTREAM_MESSAGE_LIMIT) };
}

/** The token endpoint as shown in messages: origin and path only (never userinfo or query). */
export function describeEndpoint(authUrl: string): string {
  try {
    const url = new URL(authUrl);
    return `${url.origin}${url.pathname}`;
  } catch {
    return "the configured token endpoint";
  }
}

const CHECK_CREDENTIALS =
  "Check VCC_CLIENT_ID and VCC_CLIENT_SECRET (API credentials from the VCC Admin Portal, not a user login) and that VCC_REGION, or VCC_AUTH_URL, matches the region of your VCC account; then restart the server.";
const CHECK_ENDPOINT = "Check that VCC_REGION, or VCC_AUTH_URL, points at the VCC token endpoint of your account's region.";

/** A token endpoint that answered with an error status. */
export function errorForTokenEndpoint(failure: HttpFailure, authUrl: string, scope: Scope): ToolError {
  const { status } = failure;
  const { error, description } = oauthErrorOf(failure.body);
  const extra = description ? { upstreamMessage: description } : {};
  const endpoint = describeEndpoint(authUrl);
  let message: string;
  if (error === "invalid_client") message = `The token endpoint did not accept the API credentials (invalid_client). ${CHECK_CREDENTIALS}`;
  else if (error === "invalid_scope")
    message = `The token endpoint refused a token for the scope ${scope} (invalid_scope): the API credentials do not have it. Ask a VCC administrator to grant it in the Admin Portal${scope === READ_SCOPE ? `, or set VCC_SCOPES=${DELETE_SCOPE} so that the server stops asking for it (deletions then go without a preview)` : ""}; then restart the server.`;
  else if (error === "unauthorized_client")
    message = `The API credentials may not use the client-credentials grant (unauthorized_client). Ask a VCC administrator to check them in the Admin Portal. ${CHECK_CREDENTIALS}`;
  else if (error)
    message = `The token endpoint at ${endpoint} refused the token request (${error}, HTTP ${status}). ${CHECK_ENDPOINT} ${CHECK_CREDENTIALS}`;
  else if (status >= 500)
    message = `The token endpoint at ${endpoint} failed with HTTP ${status}. Try again in a while; if it persists, contact Vonage support.`;
  else if (status === 401 || status === 403)
    message = `The token endpoint refused the API credentials (HTTP ${status}). ${CHECK_CREDENTIALS}`;
  else message = `The token endpoint at ${endpoint} answered HTTP ${status} without an OAuth error. ${CHECK_ENDPOINT}`;
  return { code: "auth_failed", message: `${message} Nothing was deleted.`, ...extra };
}

/** A scope the configuration leaves out (VCC_SCOPES): no token is requested for it. */
export function errorForScopeNotConfigured(scope: Scope): ToolError {
  return {
    code: "forbidden",
    message: `This server does not obtain tokens for the scope ${scope}: VCC_SCOPES leaves it out. Add it to VCC_SCOPES (the API credentials must have it) and restart the server. Nothing was sent and nothing was deleted.`,
  };
}

/** A token endpoint that answered 2xx without a usable token. */
export function errorForTokenResponse(authUrl: string, problem: string): ToolError {
  return {
    code: "auth_failed",
    message: `The token endpoint at ${describeEndpoint(authUrl)} answered without a usable access token (${problem}). ${CHECK_ENDPOINT} Nothing was deleted.`,
  };
}

/** A token request that got no answer. Nothing reached the API. */
export function errorForTokenTransport(cause: unknown, authUrl: string, timeoutMs: number, kind: "timeout" | "network"): ToolError {
  const endpoint = describeEndpoint(authUrl);
  const code = (cause as { code?: string } | undefined)?.code;
  const what =
    kind === "timeout"
      ? `The token endpoint at ${endpoint} did not answer within ${timeoutMs} ms`
      : `Could not get an access token from ${endpoint}${code ? ` (${code})` : ""}`;
  return {
    code: "auth_failed",
    message: `${what}. Nothing was deleted. Check the network and that VCC_REGION, or VCC_AUTH_URL, is right, then try again.`,
  };
}

/** The caller gave up while the access token was being obtained: nothing was sent to the API. */
export function errorCancelledBeforeSending(): ToolError {
  return {
    code: "cancelled",
    message:
      "The request was cancelled while the server was obtaining an access token: nothing was sent to the API and nothing was deleted.",
  };
}
