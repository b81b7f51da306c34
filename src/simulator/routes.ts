// The six Interaction Content API routes: which route a request is, the documented GUID and
// content-key rules, and what each route answers. Authentication, scopes, rate limits and faults
// are applied before these handlers run (server.ts).
//
// The GUID and key rules are written out here on purpose instead of reusing src/vcc/ids.ts: the
// simulator stands for the service, so a mistake in the client's validation must not be mirrored.
import { type Answer, emptyAnswer, jsonAnswer, messageAnswer } from "./answer.js";
import { contentBody, type SimInteraction } from "./seed.js";

export type RouteName =
  | "token"
  | "list-interactions"
  | "get-interaction"
  | "get-content"
  | "delete-content"
  | "delete-interaction"
  | "delete-batch"
  | "unknown";

export const API_PREFIX = "/interaction-content";
export const TOKEN_PATH = "/Auth/connect/token";
export const MAX_BATCH = 1000;

/** Routes that delete: they need the delete scope and must not run concurrently. */
export const DELETE_ROUTES: readonly RouteName[] = ["delete-content", "delete-interaction", "delete-batch"];

export interface ApiRequest {
  route: RouteName;
  /** Decoded path segments after /interaction-content: ["interactions", guid?, "content"?, key?]. */
  segments: string[];
  query: URLSearchParams;
  range?: string;
  body: string;
}

/** The live data the routes read and change (replaced wholesale by reset()). */
export interface Store {
  interactions: SimInteraction[];
  /** Default page size of GET /interactions (no `limit`). */
  pageSize: number;
  /** Whether GET /interactions includes interactions that start exactly at `end`. */
  endInclusive: boolean;
}

/**
 * Which route a request is for. The path has already been normalised the way URL parsers and
 * proxies do (dot segments resolved, also %2e), so a content key `..` arrives here as
 * `DELETE /interactions/{guid}/` — the whole interaction — exactly the danger the docs warn of.
 */
export function classify(method: string, pathname: string): { route: RouteName; segments: string[] } {
  if (pathname === TOKEN_PATH) return { route: "token", segments: [] };
  if (!pathname.startsWith(`${API_PREFIX}/`)) return { route: "unknown", segments: [] };
  const raw = pathname.slice(API_PREFIX.length + 1).split("/");
  // A trailing slash names the same resource, as most web frameworks treat it.
  if (raw.length > 1 && raw[raw.length - 1] === "") raw.pop();
  let segments: string[];
  try {
    segments = raw.map((s) => decodeURIComponent(s));
  } catch {
    return { route: "unknown", segments: [] };
  }
  const route = routeOf(method, segments);
  return { route, segments };
}

function routeOf(method: string, s: string[]): RouteName {
  if (s[0] !== "interactions") return "unknown";
  if (s.length === 1) return method === "GET" ? "list-interactions" : "unknown";
  if (s.length === 2 && s[1] === "delete-batch") return method === "POST" ? "delete-batch" : "unknown";
  if (s.length === 2) return method === "GET" ? "get-interaction" : method === "DELETE" ? "delete-interaction" : "unknown";
  if (s.length === 4 && s[2] === "content") return method === "GET" ? "get-content" : method === "DELETE" ? "delete-content" : "unknown";
  return "unknown";
}

/** The documented GUID rules, with the documented messages. */
export function guidProblem(guid: string): string | undefined {
  if (guid.length !== 36) return "GUID must be 36 characters in length";
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(guid))
    return `GUID '${guid}' is not a valid UUID string`;
  return undefined;
}

/** The documented content-key rules (1–36 characters from 0-9 a-z A-Z ! - _ . , * ' ( )); the messages are ours. */
export function contentKeyProblem(key: string): string | undefined {
  if (key.length < 1 || key.length > 36) return "Content key must be between 1 and 36 characters in length";
  if (!/^[0-9A-Za-z!\-_.,*'()]+$/.test(key)) return `Content key '${key}' contains invalid characters`;
  return undefined;
}

function view(i: SimInteraction) {
  return {
    guid: i.guid,
    start: i.start,
    connectFrom: i.connectFrom,
    connectTo: i.connectTo,
    direction: i.direction,
    handlingAgents: i.handlingAgents,
    content: i.content,
  };
}

/** Only interactions that still hold content exist as far as the API is concerned. */
/** Named keys (and item ids, which are UUIDs or voicemail-<agent>) match case-insensitively. */
export function findContent(interaction: SimInteraction, contentKey: string): number {
  const lower = contentKey.toLowerCase();
  return interaction.content.findIndex((c) => c.contentKey.toLowerCase() === lower);
}

function findLive(store: Store, guid: string): SimInteraction | undefined {
  return byGuid(store.interactions)
    .get(guid.toLowerCase())
    ?.find((i) => i.content.length > 0);
}

/**
 * The interactions by lower-cased GUID, in their order, built once per list (a reset brings a new
 * one): a lookup costs the same however many interactions there are, so that the simulator answers
 * at once even with thousands of them (the per-call benchmark measures the server, not this).
 */
const guidIndexes = new WeakMap<SimInteraction[], { size: number; index: Map<string, SimInteraction[]> }>();
function byGuid(interactions: SimInteraction[]): Map<string, SimInteraction[]> {
  const cached = guidIndexes.get(interactions);
  if (cached && cached.size === interactions.length) return cached.index;
  const index = new Map<string, SimInteraction[]>();
  for (const i of interactions) {
    const key = i.guid.toLowerCase();
    const list = index.get(key);
    if (list) list.push(i);
    else index.set(key, [i]);
  }
  guidIndexes.set(interactions, { size: interactions.length, index });
  return index;
}

/** Answers a request for one of the six API routes (not "token", not "unknown"). */
export function handleApi(req: ApiRequest, store: Store): Answer {
  switch (req.route) {
    case "list-interactions":
      return listInteractions(req, store);
    case "delete-batch":
      return deleteBatch(req, store);
    default:
      return handleInteraction(req, store);
  }
}

/** The API allows at most this many days between `start` and `end`. */
export const MAX_SEARCH_DAYS = 7;
/** The largest page (`limit`) the API serves. */
export const MAX_SEARCH_LIMIT = 1000;
const SEARCH_ADDRESS_MAX = 50;
const SEARCH_DIRECTIONS = ["inbound", "outbound", "internal"];

/** An ISO 8601 date-time (a date alone is its midnight UTC); undefined when it is not one. */
function searchInstant(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text)) return undefined;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text) && text.length > 10;
  const ms = Date.parse(hasZone || text.length === 10 ? text : `${text}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * GET /interactions (v3): the interactions between `start` (inclusive) and `end` (inclusive by
 * default, as the newer docs page says; `store.endInclusive` false makes it exclusive) that still
 * hold content, filtered by how connectFrom / connectTo start, handlingAgentId and direction, in
 * start order. The continuation token is opaque: it holds the last interaction of the page (so a
 * deletion between pages neither skips nor repeats one) and the query it belongs to.
 */
function listInteractions(req: ApiRequest, store: Store): Answer {
  const q = req.query;
  const startText = q.get("start");
  const endText = q.get("end");
  if (!startText) return messageAnswer(400, "The start parameter is required (ISO 8601 date-time)");
  if (!endText) return messageAnswer(400, "The end parameter is required (ISO 8601 date-time)");
  const start = searchInstant(startText);
  const end = searchInstant(endText);
  if (start === undefined) return messageAnswer(400, `start '${startText}' is not a valid ISO 8601 date-time`);
  if (end === undefined) return messageAnswer(400, `end '${endText}' is not a valid ISO 8601 date-time`);
  if (end < start) return messageAnswer(400, "end must not be before start");
  if (end - start > MAX_SEARCH_DAYS * 24 * 3600_000)
    return messageAnswer(400, `The range between start and end must not exceed ${MAX_SEARCH_DAYS} days`);
  let size = store.pageSize;
  const limitText = q.get("limit");
  if (limitText !== null) {
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_SEARCH_LIMIT)
      return messageAnswer(400, `limit must be a whole number from 1 to ${MAX_SEARCH_LIMIT}`);
    size = limit;
  }
  const filters: ((i: SimInteraction) => boolean)[] = [];
  for (const name of ["connectFrom", "connectTo"] as const) {
    const value = q.get(name);
    if (value === null) continue;
    if (value.length < 1 || value.length > SEARCH_ADDRESS_MAX)
      return messageAnswer(400, `${name} must be between 1 and ${SEARCH_ADDRESS_MAX} characters in length`);
    const prefix = value.toLowerCase();
    filters.push((i) => i[name].toLowerCase().startsWith(prefix));
  }
  const agent = q.get("handlingAgentId");
  if (agent !== null) filters.push((i) => i.handlingAgents.some((a) => a.id === agent));
  const direction = q.get("direction");
  if (direction !== null) {
    if (!SEARCH_DIRECTIONS.includes(direction.toLowerCase()))
      return messageAnswer(400, `direction must be one of ${SEARCH_DIRECTIONS.join(", ")}`);
    filters.push((i) => i.direction.toLowerCase() === direction.toLowerCase());
  }
  const inRange = (i: SimInteraction) => {
    const t = Date.parse(i.start);
    return t >= start && (store.endInclusive ? t <= end : t < end);
  };
  // The token is bound to the query it came from (everything but the token itself and the limit).
  const fingerprint = [...q.entries()]
    .filter(([name]) => name !== "continuationToken" && name !== "limit")
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `${name}=${value}`)
    .join("&");
  const order = (i: SimInteraction) => `${i.start}|${i.guid.toLowerCase()}`;
  let after = "";
  const token = q.get("continuationToken");
  if (token !== null) {
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    } catch {
      decoded = undefined;
    }
    const parts = Array.isArray(decoded) ? decoded : [];
    if (parts.length !== 2 || typeof parts[0] !== "string" || parts[1] !== fingerprint)
      return messageAnswer(400, "Invalid continuation token");
    after = parts[0];
  }
  const rest = store.interactions
    .filter((i) => i.content.length > 0 && inRange(i) && filters.every((f) => f(i)))
    .sort((a, b) => order(a).localeCompare(order(b)))
    .filter((i) => order(i) > after);
  const page = rest.slice(0, size);
  const last = page[page.length - 1];
  const next = last && rest.length > size ? Buffer.from(JSON.stringify([order(last), fingerprint])).toString("base64url") : null;
  return jsonAnswer(200, { items: page.map(view), meta: { nextContinuationToken: next } });
}

function deleteBatch(req: ApiRequest, store: Store): Answer {
  let guids: unknown;
  try {
    const parsed: unknown = JSON.parse(req.body);
    guids = typeof parsed === "object" && parsed !== null ? (parsed as { guids?: unknown }).guids : undefined;
  } catch {
    guids = undefined;
  }
  if (!Array.isArray(guids)) return messageAnswer(400, 'The request body must be JSON: {"guids":["<interaction GUID>", ...]}');
  if (guids.length > MAX_BATCH) return messageAnswer(400, `At most ${MAX_BATCH} GUIDs can be deleted in one batch (got ${guids.length})`);
  const failures: { guid: unknown; message: string; statusCode: number }[] = [];
  for (const guid of guids) {
    const problem = typeof guid === "string" ? guidProblem(guid) : "GUID must be a string";
    if (problem) {
      failures.push({ guid, message: problem, statusCode: 400 });
      continue;
    }
    // Unknown GUIDs are not an error.
    const interaction = findLive(store, guid as string);
    if (interaction) interaction.content = [];
  }
  return jsonAnswer(200, { failures });
}

function handleInteraction(req: ApiRequest, store: Store): Answer {
  const guid = req.segments[1] ?? "";
  const problem = guidProblem(guid);
  if (problem) return messageAnswer(400, problem);
  const interaction = findLive(store, guid);

  if (req.route === "get-interaction" || req.route === "delete-interaction") {
    if (!interaction) return messageAnswer(404, `Interaction '${guid}' not found`);
    if (req.route === "get-interaction") return jsonAnswer(200, view(interaction));
    interaction.content = [];
    // As documented for this endpoint: an empty JSON object (not the 204 of a content deletion).
    return jsonAnswer(200, {});
  }

  const key = req.segments[3] ?? "";
  const keyProblem = contentKeyProblem(key);
  if (keyProblem) return messageAnswer(400, keyProblem);
  const index = interaction ? findContent(interaction, key) : -1;
  const item = interaction?.content[index];
  if (!interaction || !item) return messageAnswer(404, `Content '${key}' not found for interaction '${guid}'`);

  if (req.route === "delete-content") {
    interaction.content.splice(index, 1);
    return emptyAnswer(204);
  }
  return contentAnswer(item, req.range);
}

/** GET of a content file, honouring a single `Range: bytes=…` (suffix ranges too); others get the whole file. */
function contentAnswer(item: SimInteraction["content"][number], rangeHeader: string | undefined): Answer {
  const total = item.contentLength;
  const headers: Record<string, string> = {
    "content-type": item.contentType,
    "accept-ranges": "bytes",
    "last-modified": new Date(item.lastModified).toUTCString(),
  };
  const range = rangeHeader?.trim().match(/^bytes=(\d*)-(\d*)$/);
  if (!range || (!range[1] && !range[2])) return { status: 200, headers, body: contentBody(item) };
  let start: number;
  let end = total - 1;
  if (range[1]) {
    start = Number(range[1]);
    if (range[2]) end = Math.min(Number(range[2]), end);
  } else {
    start = Math.max(0, total - Number(range[2]));
  }
  if (start > end || start >= total) return emptyAnswer(416, { "content-range": `bytes */${total}` });
  return {
    status: 206,
    headers: { ...headers, "content-range": `bytes ${start}-${end}/${total}` },
    body: contentBody(item).subarray(start, end + 1),
  };
}
