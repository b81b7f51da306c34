// A page of GET /interactions (v3), read leniently. Unlike the single-interaction view, nothing is
// filled in: a size, type or date the API did not give stays absent.
import { z } from "zod";
import { type contentItemSchema, interactionSchema, redactRecord } from "./interaction.js";

const foundSchema = interactionSchema.extend({
  handlingAgents: z.array(z.looseObject({ id: z.union([z.string(), z.number()]) })).nullish(),
});

const pageSchema = z.looseObject({
  items: z.array(z.unknown()),
  meta: z.looseObject({ nextContinuationToken: z.string().nullish() }).nullish(),
});

export interface FoundItem {
  contentKey: string;
  type?: string;
  contentType?: string;
  contentLength?: number;
  lastModified?: string;
}

export interface FoundInteraction {
  guid: string;
  start?: string;
  direction?: string;
  connectFrom?: string;
  connectTo?: string;
  handlingAgentIds: string[];
  content: FoundItem[];
}

export interface SearchPage {
  items: FoundInteraction[];
  /** Interaction records on the page that could not be read (no guid, wrong types): reported, not guessed. */
  unreadable: number;
  /** null: the last page. */
  next: string | null;
}

function item(c: z.infer<typeof contentItemSchema>): FoundItem {
  return {
    contentKey: c.contentKey,
    ...(c.type ? { type: c.type } : {}),
    ...(c.contentType ? { contentType: c.contentType } : {}),
    ...(typeof c.contentLength === "number" && Number.isFinite(c.contentLength) && c.contentLength >= 0
      ? { contentLength: c.contentLength }
      : {}),
    ...(c.lastModified ? { lastModified: c.lastModified } : {}),
  };
}

/** Parses the body of GET /interactions; undefined when it is not a page of results at all. */
export function parseSearchPage(body: string): SearchPage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const page = pageSchema.safeParse(json);
  if (!page.success) return undefined;
  const items: FoundInteraction[] = [];
  let unreadable = 0;
  for (const raw of page.data.items) {
    // Every text of a record reaches results, plans and the approval page: none may carry a secret
    // the API echoed; a record whose names the redaction changed is unreadable (redactRecord).
    const redacted = redactRecord(raw);
    const parsed = redacted === undefined ? undefined : foundSchema.safeParse(redacted);
    if (!parsed?.success) {
      unreadable++;
      continue;
    }
    const i = parsed.data;
    items.push({
      guid: i.guid,
      ...(i.start ? { start: i.start } : {}),
      ...(i.direction ? { direction: i.direction } : {}),
      ...(i.connectFrom ? { connectFrom: i.connectFrom } : {}),
      ...(i.connectTo ? { connectTo: i.connectTo } : {}),
      handlingAgentIds: (i.handlingAgents ?? []).map((a) => String(a.id)),
      content: i.content.map(item),
    });
  }
  return { items, unreadable, next: page.data.meta?.nextContinuationToken ?? null };
}
