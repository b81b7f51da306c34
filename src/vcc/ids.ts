// The one place that decides what a valid interaction GUID and content key are, and how they
// become a URL path. Every tool schema and every request path goes through here.
import { z } from "zod";

/** 8-4-4-4-12 hexadecimal digits, any case. VCC GUIDs need not be RFC 4122 versions. */
const GUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** The API's character set for content keys: 0-9 a-z A-Z ! - _ . , * ' ( ) */
const CONTENT_KEY_PATTERN = /^[0-9A-Za-z!\-_.,*'()]{1,36}$/;

/** Keys with a fixed meaning on every interaction (matched case-insensitively by the API). */
export const NAMED_CONTENT_KEYS = [
  "callRecording",
  "transcript",
  "chatTranscript",
  "attachment",
  "categorizationResult",
  "sentimentSummary",
  "ivrAudioRecording",
] as const;

export function isValidGuid(value: unknown): value is string {
  return typeof value === "string" && GUID_PATTERN.test(value);
}

export function isValidContentKey(value: unknown): value is string {
  // "." and ".." pass the character rule but URL normalisation would turn them into
  // DELETE /interactions/{guid}: the whole interaction. They must never reach the wire.
  return typeof value === "string" && CONTENT_KEY_PATTERN.test(value) && value !== "." && value !== "..";
}

/** Lower-cased once, not on every comparison: token bindings look keys up several times per call. */
const NAMED_KEYS_BY_LOWER_CASE: ReadonlyMap<string, string> = new Map(NAMED_CONTENT_KEYS.map((k) => [k.toLowerCase(), k]));

/** The named key this key stands for, compared case-insensitively, or undefined for item ids. */
export function namedKeyOf(contentKey: string): string | undefined {
  return NAMED_KEYS_BY_LOWER_CASE.get(contentKey.toLowerCase());
}

const GUID_MESSAGE =
  "guid must be the interaction's 36-character identifier: 8-4-4-4-12 hexadecimal digits, e.g. 3fa85f64-5717-4562-b3fc-2c963f66afa6";
const CONTENT_KEY_MESSAGE =
  "contentKey must be 1-36 characters from 0-9 a-z A-Z ! - _ . , * ' ( ) and must not be '.' or '..'. Use a named key (callRecording, transcript, ...) or an item id from list_interaction_content.";

// Length and pattern are stated in the schema too, so that clients and models see them.
export const guidSchema = z
  .string({ message: GUID_MESSAGE })
  .length(36, { message: GUID_MESSAGE })
  .regex(GUID_PATTERN, { message: GUID_MESSAGE })
  .describe("The interaction's GUID: 36 characters, 8-4-4-4-12 hexadecimal digits.");

export const contentKeySchema = z
  .string({ message: CONTENT_KEY_MESSAGE })
  .min(1, { message: CONTENT_KEY_MESSAGE })
  .max(36, { message: CONTENT_KEY_MESSAGE })
  .regex(CONTENT_KEY_PATTERN, { message: CONTENT_KEY_MESSAGE })
  .refine(isValidContentKey, { message: CONTENT_KEY_MESSAGE })
  .describe(
    "Which content to delete: a named key (callRecording, transcript, chatTranscript, attachment, categorizationResult, sentimentSummary, ivrAudioRecording) or the id of one content item as listed for the interaction (voicemails, screen recordings, ...). Never '.' or '..'.",
  );

/** RFC 3986 unreserved characters stay; everything else is percent-encoded. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

function assertGuid(guid: string): void {
  if (!isValidGuid(guid)) throw new Error("refusing to build a path from an invalid interaction GUID");
}

/** `/interactions/{guid}` */
export function interactionPath(guid: string): string {
  assertGuid(guid);
  return `/interactions/${encodeSegment(guid)}`;
}

/** `/interactions/{guid}/content/{contentKey}` with both segments percent-encoded. */
export function contentPath(guid: string, contentKey: string): string {
  assertGuid(guid);
  if (!isValidContentKey(contentKey)) throw new Error("refusing to build a path from an invalid content key");
  return `/interactions/${encodeSegment(guid)}/content/${encodeSegment(contentKey)}`;
}

/** The query of one GET /interactions request (the API's own parameter names). */
export interface SearchQuery {
  start: string;
  end: string;
  connectFrom?: string;
  connectTo?: string;
  handlingAgentId?: string;
  direction?: string;
  limit?: number;
  continuationToken?: string;
}

/** `/interactions?start=…&end=…&…`: every value percent-encoded (a `+` of a phone number stays a `+`). */
export function searchPath(query: SearchQuery): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined) params.set(name, String(value));
  }
  // URLSearchParams writes a space as "+"; %20 cannot be mistaken for a literal plus.
  return `/interactions?${params.toString().replace(/\+/g, "%20")}`;
}
