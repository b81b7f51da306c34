// The error codes every result may carry: one list, from which the output schemas' enum and the
// documentation's table are derived. A ToolError is a value the assistant reads, never an exception.

/** Every code a tool result's `error.code` can have, with what it means (for the docs table). */
export const ERROR_CODES = {
  invalid_input: "The arguments were refused before anything was sent (e.g. a range that is too long).",
  not_configured:
    "No VCC credentials are configured yet, or the API's address is wrong (404 for an interaction and for a search too: check VCC_REGION or VCC_API_BASE_URL).",
  auth_failed: "The token endpoint refused the credentials or a scope, or could not be reached.",
  confirmation_invalid: "The confirmationToken is unknown, expired, used, in use, or for other items.",
  elicitation_unsupported: "Prompts are required (VCC_CONFIRMATION=elicitation) but the client cannot show one.",
  approval_pending: "The person has not decided on the approval page yet.",
  approval_unavailable: "The approval page could not be started or was closed before a decision.",
  passkey_required: "Approvals need a passkey (VCC_APPROVAL_PASSKEY=required) and none is registered yet.",
  bad_request: "The API refused the request as malformed (400).",
  unauthorized: "The API refused the access token (401).",
  forbidden: "The credentials lack the scope or permission for this (403), or VCC_SCOPES leaves that scope out.",
  not_found:
    "No such interaction or content item (404), nothing of the types asked for matches an erasure's criteria, or it was not part of what was approved.",
  rate_limited: "The API's rate limit was reached (429) and retries ran out.",
  busy: "Other deletions of this server (or of its other replicas) were still running, or this replica lost the deletion lock, so this one was not sent.",
  upstream_error: "The API failed (5xx) or answered something this server cannot read.",
  unexpected_status: "The API answered with a status this server does not expect.",
  network_error: "The API could not be reached or the connection broke.",
  timeout: "The API did not answer in time.",
  cancelled: "The call was cancelled, or the server is shutting down.",
  not_allowed: "The administrator does not allow deleting this kind of content (VCC_ALLOWED_CONTENT_KEYS).",
  audit_failed: "The audit log could not be written, so nothing was deleted.",
  state_unavailable:
    "The state the server's replicas share (Redis, VCC_STATE_URL) could not be reached, so nothing was deleted; try again shortly.",
  internal_error: "The server failed unexpectedly; details are in its log.",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes as a non-empty tuple, for `z.enum`. */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

export interface ToolError {
  code: ErrorCode;
  message: string;
  httpStatus?: number;
  retryAfterSeconds?: number;
  upstreamMessage?: string;
  /** True when the request may have reached the API: the deletion may or may not have happened. */
  outcomeUnknown?: boolean;
}
