// The one place that decides "did a person agree?" for a destructive action in one MCP session.
// Every destructive tool asks here; nothing is sent to the API unless the answer is "approved".
import type { ConfirmationMode } from "../config.js";
import type { ToolError } from "../vcc/errors.js";
import { type Claim, type ClaimFailure, ConfirmationStore } from "./store.js";

/** What is known of one content item before it is deleted (from the interaction's listing). */
export interface ContentPreview {
  type: string;
  contentType?: string;
  contentLength?: number;
  lastModified?: string;
}

/** One thing that would be deleted. */
export interface ConfirmationItem {
  guid: string;
  contentKey: string;
  /** Absent when the listing could not be read (no read scope, network): say so to the person. */
  preview?: ContentPreview;
}

/** What the person is asked about. `binding` identifies the exact action a token may perform. */
export interface ConfirmationRequest {
  binding: string;
  /** Every item the action would delete (one for the single tool). */
  items: ConfirmationItem[];
  /** Shown to the person: what will be deleted, and that it cannot be undone. */
  question: string;
  /** A confirmationToken the model passed back, if any. */
  token?: string;
  /** Kept with an issued token and handed back when it is redeemed (what exactly was confirmed). */
  payload?: unknown;
  signal?: AbortSignal;
  /** The MCP request this confirmation belongs to (HTTP transports route the prompt by it). */
  relatedRequestId?: string | number;
}

export type Decision =
  | { kind: "approved"; method: "elicitation" }
  | { kind: "approved"; method: "token"; claim: Claim; payload?: unknown }
  | { kind: "declined"; method: "elicitation"; action: "decline" | "cancel" | "unconfirmed" }
  | { kind: "token_issued"; token: string; expiresAt: Date; reason: "mode_token" | "no_elicitation" | "elicitation_failed" }
  | { kind: "refused"; error: ToolError };

export type ElicitAnswer = { action: "accept" | "decline" | "cancel"; content?: Record<string, unknown> };

/** How this session talks to its client: whether it can show a form, and how to show one. */
export interface ElicitationChannel {
  supportsForm(): boolean;
  elicitForm(
    message: string,
    requestedSchema: Record<string, unknown>,
    options: { signal?: AbortSignal; timeoutMs: number; relatedRequestId?: string | number },
  ): Promise<ElicitAnswer>;
}

export interface ConfirmerOptions {
  mode: ConfirmationMode;
  ttlSeconds: number;
  elicitationTimeoutSeconds: number;
  channel: ElicitationChannel;
  now?: () => number;
}

const CONFIRM_SCHEMA = {
  type: "object",
  properties: {
    confirm: {
      type: "boolean",
      title: "Delete permanently",
      description: "Tick to delete permanently. This cannot be undone.",
      default: false,
    },
  },
  required: ["confirm"],
} as const;

const CLAIM_FAILURE_TEXT: Record<ClaimFailure, string> = {
  unknown: "was not issued by this server session (tokens do not survive a restart or carry over between sessions)",
  expired: "has expired",
  used: "has already been used; each token works once",
  mismatch: "was issued for a different interaction or content key",
  in_use: "is being used by another call right now",
  // Handled before this text is used; listed for completeness.
  approval_pending: "has not been approved on the approval page yet",
  rejected: "was rejected on the approval page",
};

export class Confirmer {
  readonly store: ConfirmationStore;
  readonly #options: ConfirmerOptions;

  constructor(options: ConfirmerOptions) {
    this.#options = options;
    this.store = new ConfirmationStore(options.ttlSeconds * 1000, options.now);
  }

  get mode(): ConfirmationMode {
    return this.#options.mode;
  }

  async decide(request: ConfirmationRequest): Promise<Decision> {
    if (request.token !== undefined) return this.#redeem(request.token, request.binding);

    const { mode, channel } = this.#options;
    if (mode === "token") return this.#issue(request, "mode_token");
    if (!channel.supportsForm()) {
      if (mode === "elicitation")
        return {
          kind: "refused",
          error: {
            code: "elicitation_unsupported",
            message:
              "This server is configured to confirm deletions with an on-screen prompt (VCC_CONFIRMATION=elicitation), but this MCP client cannot show one. Nothing was deleted. Use a client that supports elicitation, or ask the administrator to set VCC_CONFIRMATION=auto.",
          },
        };
      return this.#issue(request, "no_elicitation");
    }

    let answer: ElicitAnswer;
    try {
      answer = await channel.elicitForm(request.question, CONFIRM_SCHEMA, {
        signal: request.signal,
        timeoutMs: this.#options.elicitationTimeoutSeconds * 1000,
        relatedRequestId: request.relatedRequestId,
      });
    } catch {
      if (request.signal?.aborted) return { kind: "declined", method: "elicitation", action: "cancel" };
      // Some clients advertise elicitation and never show it, or time out: fall back to a token.
      if (mode === "elicitation")
        return {
          kind: "refused",
          error: {
            code: "elicitation_unsupported",
            message: `The confirmation prompt failed or got no answer within ${this.#options.elicitationTimeoutSeconds} s. Nothing was deleted. Ask the user whether they saw the prompt before calling again.`,
          },
        };
      return this.#issue(request, "elicitation_failed");
    }
    if (answer.action === "accept" && answer.content?.confirm === true) return { kind: "approved", method: "elicitation" };
    return {
      kind: "declined",
      method: "elicitation",
      action: answer.action === "accept" ? "unconfirmed" : answer.action,
    };
  }

  #issue(request: ConfirmationRequest, reason: "mode_token" | "no_elicitation" | "elicitation_failed"): Decision {
    const { token, expiresAt } = this.store.issue(request.binding, request.payload);
    return { kind: "token_issued", token, expiresAt, reason };
  }

  #redeem(token: string, binding: string): Decision {
    const result = this.store.claim(token, binding);
    if (result.ok) return { kind: "approved", method: "token", claim: result.claim, payload: result.payload };
    return {
      kind: "refused",
      error: {
        code: "confirmation_invalid",
        message: `The confirmationToken ${CLAIM_FAILURE_TEXT[result.reason]}. Nothing was deleted. Call again without a confirmationToken to start a new confirmation, and ask the user.`,
      },
    };
  }
}
