// The API's interaction record (GET /interactions/{guid}), read leniently and mapped to the shape
// our tools return. Unknown fields are ignored; missing optional ones stay absent.
import { z } from "zod";
import { redactJson } from "../log.js";

// Fields the API may send as null are read as absent (nullish): a record is never dropped for that.
export const contentItemSchema = z.looseObject({
  contentKey: z.string(),
  type: z.string().nullish(),
  contentType: z.string().nullish(),
  contentLength: z.number().nullish(),
  lastModified: z.string().nullish(),
  owningAgent: z.looseObject({ id: z.union([z.string(), z.number()]) }).nullish(),
});

export const interactionSchema = z.looseObject({
  guid: z.string(),
  start: z.string().nullish(),
  direction: z.string().nullish(),
  connectFrom: z.string().nullish(),
  connectTo: z.string().nullish(),
  content: z
    .array(contentItemSchema)
    .nullish()
    .transform((content) => content ?? []),
});

/** One content item; what the API left out stays absent (never a made-up default). */
export interface ContentItem {
  contentKey: string;
  type?: string;
  contentType?: string;
  contentLength?: number;
  lastModified?: string;
  owningAgentId?: string;
}

export interface Interaction {
  guid: string;
  start?: string;
  direction?: string;
  connectFrom?: string;
  connectTo?: string;
  content: ContentItem[];
}

/**
 * An interaction record with every text redacted (a secret the API echoed never reaches a result),
 * or undefined when the redaction changed a text that names or finds something: its guid, a content
 * key, an address or its start. Such a record cannot be used without showing a secret or acting on a
 * changed name (a person's interaction no longer matching their number, a key that names nothing),
 * so it is unreadable, and said so, never silently left out.
 */
export function redactRecord(raw: unknown): unknown {
  const redacted = redactJson(raw);
  return identifiersOf(raw) === identifiersOf(redacted) ? redacted : undefined;
}

function identifiersOf(value: unknown): string {
  if (!value || typeof value !== "object") return "";
  const r = value as Record<string, unknown>;
  const keys = Array.isArray(r.content)
    ? r.content.map((c: unknown) => (c && typeof c === "object" ? (c as Record<string, unknown>).contentKey : c))
    : [];
  return JSON.stringify([r.guid, r.start, r.connectFrom, r.connectTo, keys]);
}

/** Parses the body of GET /interactions/{guid}; undefined when it is not an interaction record. */
export function parseInteraction(body: string): Interaction | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  // Every text of the record reaches results and prompts: none may carry a secret the API echoed.
  const redacted = redactRecord(json);
  if (redacted === undefined) return undefined;
  const parsed = interactionSchema.safeParse(redacted);
  if (!parsed.success) return undefined;
  const i = parsed.data;
  return {
    guid: i.guid,
    ...(i.start ? { start: i.start } : {}),
    ...(i.direction ? { direction: i.direction } : {}),
    ...(i.connectFrom ? { connectFrom: i.connectFrom } : {}),
    ...(i.connectTo ? { connectTo: i.connectTo } : {}),
    content: i.content.map((c) => ({
      contentKey: c.contentKey,
      ...(c.type ? { type: c.type } : {}),
      ...(c.contentType ? { contentType: c.contentType } : {}),
      ...(typeof c.contentLength === "number" ? { contentLength: c.contentLength } : {}),
      ...(c.lastModified ? { lastModified: c.lastModified } : {}),
      ...(c.owningAgent ? { owningAgentId: String(c.owningAgent.id) } : {}),
    })),
  };
}

/**
 * The item a content key names: the one written exactly so, else one that differs only in case
 * (named keys and item ids are matched case-insensitively by the API). Exact first, so that the
 * preview and the allowlist never describe another item than the one the key names.
 */
export function findContentItem(interaction: Interaction, contentKey: string): ContentItem | undefined {
  const exact = interaction.content.find((c) => c.contentKey === contentKey);
  if (exact) return exact;
  const lower = contentKey.toLowerCase();
  return interaction.content.find((c) => c.contentKey.toLowerCase() === lower);
}
