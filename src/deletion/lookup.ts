// Looks an interaction up before a deletion: to show the person what they would lose, and to refuse
// at once when the content is not there. Best effort: a failed lookup does not block a deletion,
// except a definite 401 (the API refused the credentials), which ends the call before anyone is asked.
import type { ContentPreview } from "../core/content.js";
import type { ToolError } from "../core/errors.js";
import type { VccClient } from "../vcc/client.js";
import { type ContentItem, findContentItem, type Interaction, parseInteraction } from "../vcc/interaction.js";

/**
 * Long enough for a healthy API, short enough not to keep a person waiting for the prompt: retries
 * (e.g. after a 503) happen only within it.
 */
const LOOKUP_TIMEOUT_MS = 5_000;

/** What GET /interactions/{guid} told us. */
export type InteractionLookup =
  | { kind: "found"; interaction: Interaction }
  /** 404: no such interaction, or none of its content is left. */
  | { kind: "gone" }
  /** Could not tell (no read scope, network, API error). */
  | { kind: "unavailable"; reason: string }
  /** The API refused the credentials (401, after one renewal): the caller refuses the call. */
  | { kind: "refused"; error: ToolError };

export type LookupResult =
  | { kind: "found"; interaction: Interaction; item: ContentItem; preview: ContentPreview }
  /** Certainly not there: the interaction has no such key, or has no content at all (404). */
  | { kind: "absent"; error: ToolError }
  /** Could not tell: go on without a preview. */
  | { kind: "unavailable"; reason: string }
  /** The call must end with this error before anyone is asked. */
  | { kind: "refused"; error: ToolError };

/** What the listing says of the item; what it left out stays absent. */
export function previewOf(item: ContentItem): ContentPreview {
  return {
    ...(item.type !== undefined ? { type: item.type } : {}),
    ...(item.contentType !== undefined ? { contentType: item.contentType } : {}),
    ...(item.contentLength !== undefined ? { contentLength: item.contentLength } : {}),
    ...(item.lastModified !== undefined ? { lastModified: item.lastModified } : {}),
  };
}

export async function lookupInteraction(client: VccClient, guid: string, signal?: AbortSignal): Promise<InteractionLookup> {
  const outcome = await client.getInteraction(guid, {
    subject: `interaction ${guid}`,
    signal,
    timeoutMs: LOOKUP_TIMEOUT_MS,
    deadlineMs: LOOKUP_TIMEOUT_MS,
  });
  if (!outcome.ok) {
    if (outcome.error.code === "not_found") return { kind: "gone" };
    // Credentials refused, or an address that is not the API's: nobody is asked about anything.
    if (outcome.error.code === "unauthorized" || outcome.error.code === "not_configured") return { kind: "refused", error: outcome.error };
    return {
      kind: "unavailable",
      reason: outcome.error.code === "forbidden" ? "the credentials cannot read interactions" : outcome.error.message,
    };
  }
  const interaction = parseInteraction(outcome.response.body);
  if (!interaction) return { kind: "unavailable", reason: "the API's answer could not be read" };
  return { kind: "found", interaction };
}

/** What a lookup says about one content key of the interaction. */
export function lookupItem(lookup: InteractionLookup, guid: string, contentKey: string): LookupResult {
  if (lookup.kind === "unavailable" || lookup.kind === "refused") return lookup;
  if (lookup.kind === "gone")
    return {
      kind: "absent",
      error: {
        code: "not_found",
        httpStatus: 404,
        message: `Interaction ${guid} has no content left, or does not exist, so there is nothing to delete: nothing was deleted. Check the GUID.`,
      },
    };
  const item = findContentItem(lookup.interaction, contentKey);
  if (!item) {
    const keys = lookup.interaction.content.map((c) => c.contentKey);
    const shown = keys.slice(0, 12).join(", ") + (keys.length > 12 ? `, … (${keys.length} in all)` : "");
    return {
      kind: "absent",
      error: {
        code: "not_found",
        message: `Interaction ${guid} has no content '${contentKey}', so there is nothing to delete: nothing was deleted. It holds: ${shown || "nothing"}. Use one of those keys, or list_interaction_content for details.`,
      },
    };
  }
  return { kind: "found", interaction: lookup.interaction, item, preview: previewOf(item) };
}
