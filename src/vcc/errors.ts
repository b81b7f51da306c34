// The one error mapping: every failure becomes a ToolError with a stable code and a message that
// tells the assistant what to do next.

export type ErrorCode =
  | "not_configured"
  | "confirmation_invalid"
  | "elicitation_unsupported"
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "rate_limited"
  | "upstream_error"
  | "unexpected_status"
  | "network_error"
  | "timeout"
  | "cancelled"
  | "not_allowed"
  | "audit_failed";

export interface ToolError {
  code: ErrorCode;
  message: string;
  httpStatus?: number;
  retryAfterSeconds?: number;
  upstreamMessage?: string;
  /** True when the request may have reached the API: the deletion may or may not have happened. */
  outcomeUnknown?: boolean;
}

const UPSTREAM_MESSAGE_LIMIT = 500;

/** The API's JSON `message` (or a short plain-text body), capped; undefined for HTML or empty bodies. */
export function upstreamMessageOf(body: string, contentType: string | undefined): string | undefined {
  const text = body.trim();
  if (!text) return undefined;
  let message: string | undefined;
  if (contentType?.includes("json") || text.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === "object") {
        const record = parsed as Record<string, unknown>;
        const candidate = record.message ?? record.Message ?? record.error_description ?? record.error;
        if (typeof candidate === "string") message = candidate;
      }
    } catch {
      // Not JSON after all: fall through to the plain-text rule.
    }
  }
  if (message === undefined && !/^\s*</.test(text) && !contentType?.includes("html")) message = text;
  if (message === undefined) return undefined;
  return message.length > UPSTREAM_MESSAGE_LIMIT ? `${message.slice(0, UPSTREAM_MESSAGE_LIMIT - 1)}…` : message;
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date). */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
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

/** Maps a non-success HTTP answer from the Interaction Content API to a ToolError. */
export function errorForStatus(failure: HttpFailure, subject: string, operation: "delete" | "read" = "delete"): ToolError {
  if (operation === "read" && (failure.status === 403 || failure.status === 404)) return readError(failure, subject);
  const { status } = failure;
  const upstreamMessage = upstreamMessageOf(failure.body, failure.contentType);
  const base = { httpStatus: status, ...(upstreamMessage ? { upstreamMessage } : {}) };
  if (status === 400)
    return {
      code: "bad_request",
      message: `The API rejected the request as invalid (400)${upstreamMessage ? `: ${upstreamMessage}` : ""}. Check the interaction GUID and content key; do not retry unchanged.`,
      ...base,
    };
  if (status === 401)
    return {
      code: "unauthorized",
      message:
        "The API did not accept the access token (401): it is missing, invalid or expired. VCC access tokens last two hours: set a fresh VCC_ACCESS_TOKEN and restart the server. Nothing was deleted.",
      ...base,
    };
  if (status === 403)
    return {
      code: "forbidden",
      message: `The API refused access (403): the credentials lack the scope interaction-content:delete, or have no access to ${subject}. Ask a VCC administrator to grant it. Nothing was deleted.`,
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
      message: `The API is rate limiting requests (429)${retryAfterSeconds !== undefined ? `; it asks to wait ${retryAfterSeconds} s` : ""}. Nothing was deleted. Wait, then ask the user before calling again; send deletions one at a time.`,
      ...base,
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    };
  }
  if (status >= 500)
    return {
      code: "upstream_error",
      message: `The VCC API failed with ${status}. The content was most likely not deleted; check with list_interaction_content before trying again, and contact Vonage support if it persists.`,
      ...base,
    };
  return {
    code: "unexpected_status",
    message: `The API answered with an unexpected status ${status}. The outcome is unknown; check with list_interaction_content.`,
    ...base,
    outcomeUnknown: true,
  };
}

function readError(failure: HttpFailure, subject: string): ToolError {
  const upstreamMessage = upstreamMessageOf(failure.body, failure.contentType);
  const base = { httpStatus: failure.status, ...(upstreamMessage ? { upstreamMessage } : {}) };
  if (failure.status === 403)
    return {
      code: "forbidden",
      message: `The API refused to read ${subject} (403): the credentials lack the scope interaction-content:read, or have no access to this interaction. Ask a VCC administrator to grant it.`,
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
