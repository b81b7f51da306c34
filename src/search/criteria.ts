// What a search asks for, checked and normalised before anything is sent: dates and date-times
// (UTC when no offset is given), the range rules, the addresses, and at least one narrowing
// criterion. Independent of MCP: the tool's schema only describes the shapes.
import type { ToolError } from "../core/errors.js";
import { formatDate, humanType } from "../core/format.js";
import { parseInstant } from "../core/time.js";

export const MAX_PARTIES = 5;
export const MAX_ADDRESS_LENGTH = 50;
export const DEFAULT_MAX_RESULTS = 50;
export const MAX_MAX_RESULTS = 500;
/** `to` may be at most this far in the future (clocks differ; "today" in another time zone). */
export const FUTURE_TOLERANCE_MS = 24 * 3600_000;
const DAY_MS = 24 * 3600_000;

export type Direction = "inbound" | "outbound";

/** Who and what, the same in the input and in the criteria as carried out. */
interface Narrowing {
  party?: string[];
  connectFrom?: string;
  connectTo?: string;
  handlingAgentId?: string;
  direction?: Direction;
  contentTypes?: string[];
}

/** The search as given (the tool's input, minus maxResults and cursor). */
export interface SearchInput extends Narrowing {
  from: string;
  to: string;
}

/** The search as carried out: instants in ms (UTC), `to` exclusive, addresses trimmed and de-duplicated. */
export interface SearchCriteria extends Narrowing {
  from: number;
  to: number;
}

/** `ms` plus two calendar years (29 February becomes 1 March). */
function plusTwoYears(ms: number): number {
  const d = new Date(ms);
  d.setUTCFullYear(d.getUTCFullYear() + 2);
  return d.getTime();
}

function invalid(message: string): { ok: false; error: ToolError } {
  return { ok: false, error: { code: "invalid_input", message: `${message} Nothing was searched.` } };
}

/** Only what people type in a phone number: digits, a leading +, and separators. */
const PHONE_AS_TYPED = /^\+?[\d\s\-.()]+$/;
/** An IPv4 address as written (10.0.0.1: four numbers up to 255, no leading zero), not a phone number (044.668.18.00). */
const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
/** Fewer digits than this is no phone number to rewrite (a short code, "(0)", a version "1.5"). */
const MIN_PHONE_DIGITS = 6;

/**
 * A phone number as the API stores it, from the way a person may type it: without spaces, dashes,
 * dots or brackets, and without the "(0)" written after a country code (+44 (0)1632 960 101 and
 * 44 (0)1632 960101 are +441632960101 and 441632960101). Anything else (an email, a chat handle, an
 * IP address, a number with letters, fewer than six digits) is left as it is.
 */
export function storedAddress(address: string): string {
  if (!PHONE_AS_TYPED.test(address) || IPV4.test(address)) return address;
  const bare = address.replace(/^(\+|00)?[\s\-.]*(\d{1,3})[\s\-.]*\(0\)/, "$1$2").replace(/[\s\-.()]/g, "");
  return /^\+?\d+$/.test(bare) && bare.replace("+", "").length >= MIN_PHONE_DIGITS ? bare : address;
}

/** An address as searched for: trimmed, and a phone number as the API stores it (storedAddress); an agent's id only trimmed. */
function address(value: string | undefined, name: string, isId = false): { ok: true; value?: string } | { ok: false; error: ToolError } {
  if (value === undefined) return { ok: true };
  const stored = isId ? value.trim() : storedAddress(value.trim());
  if (stored.length < 1 || stored.length > MAX_ADDRESS_LENGTH)
    return invalid(`${name} must be 1-${MAX_ADDRESS_LENGTH} characters (the API matches addresses by how they start).`);
  return { ok: true, value: stored };
}

/** The addresses of `input` that are searched in another form than given (a phone number's spaces, dashes, ...). */
export function rewrittenAddresses(input: Pick<SearchInput, "party" | "connectFrom" | "connectTo">): { given: string; searched: string }[] {
  const given = [
    ...(input.party ?? []),
    ...(input.connectFrom !== undefined ? [input.connectFrom] : []),
    ...(input.connectTo !== undefined ? [input.connectTo] : []),
  ];
  const rewritten = new Map<string, string>();
  for (const value of given) {
    const searched = storedAddress(value.trim());
    if (searched !== value.trim() && searched.length > 0) rewritten.set(value.trim(), searched);
  }
  return [...rewritten].map(([from, to]) => ({ given: from, searched: to }));
}

/** The line that tells a person which addresses were searched in their stored form, or "" when none was. */
export function describeRewritten(input: Pick<SearchInput, "party" | "connectFrom" | "connectTo">): string {
  const rewritten = rewrittenAddresses(input);
  if (rewritten.length === 0) return "";
  return `Phone numbers are stored without spaces, dashes, dots or brackets, so ${rewritten.map((r) => `'${r.given}' was searched as ${r.searched}`).join(", ")}.`;
}

/** Checks and normalises a search; `now` is the current time in ms. */
export function normaliseCriteria(
  input: SearchInput,
  now: number,
): { ok: true; criteria: SearchCriteria } | { ok: false; error: ToolError } {
  const from = parseInstant(input.from);
  if (!from) return invalid(`from '${input.from}' is not an ISO 8601 date or date-time (e.g. 2025-01-31 or 2025-01-31T09:00:00+01:00).`);
  const to = parseInstant(input.to);
  if (!to) return invalid(`to '${input.to}' is not an ISO 8601 date or date-time (e.g. 2025-06-30 or 2025-06-30T18:00:00Z).`);
  // A date alone as `to` means that whole day: the search runs up to the next midnight (UTC).
  const toMs = to.dateOnly ? to.ms + DAY_MS : to.ms;
  if (toMs <= from.ms) return invalid("to must be after from.");
  if (to.ms > plusTwoYears(from.ms)) return invalid("The range from..to must not exceed two years: split the search.");
  // Checked on `to` as given: tomorrow's date (today somewhere east of UTC) is accepted.
  if (to.ms > now + FUTURE_TOLERANCE_MS) return invalid("to must not be more than a day in the future.");

  const sides: Record<string, string> = {};
  for (const [name, value] of [
    ["connectFrom", input.connectFrom],
    ["connectTo", input.connectTo],
    ["handlingAgentId", input.handlingAgentId],
  ] as const) {
    const checked = address(value, name, name === "handlingAgentId");
    if (!checked.ok) return checked;
    if (checked.value !== undefined) sides[name] = checked.value;
  }
  let party: string[] | undefined;
  if (input.party !== undefined) {
    if (sides.connectFrom !== undefined || sides.connectTo !== undefined)
      return invalid("Give either party (matched on both sides) or connectFrom/connectTo (one side), not both.");
    party = [];
    for (const value of input.party) {
      const checked = address(value, "Each party address");
      if (!checked.ok) return checked;
      if (checked.value !== undefined && !party.includes(checked.value)) party.push(checked.value);
    }
    if (party.length < 1 || party.length > MAX_PARTIES) return invalid(`party must list 1-${MAX_PARTIES} addresses.`);
    // The same addresses in another order are the same search (the same token, the same cursor's sides).
    party.sort();
  }
  if (!party && sides.connectFrom === undefined && sides.connectTo === undefined && sides.handlingAgentId === undefined)
    return invalid(
      "Give at least one of party, connectFrom, connectTo or handlingAgentId: this tool finds the interactions of a person or an agent, not every interaction of a period.",
    );
  let contentTypes: string[] | undefined;
  if (input.contentTypes !== undefined) {
    contentTypes = [...new Set(input.contentTypes.map((t) => t.trim()).filter(Boolean))];
    if (contentTypes.length === 0) return invalid("contentTypes, when given, must name at least one type (e.g. callRecording).");
  }
  return {
    ok: true,
    criteria: {
      from: from.ms,
      to: toMs,
      ...(party ? { party } : {}),
      ...sides,
      ...(input.direction ? { direction: input.direction } : {}),
      ...(contentTypes ? { contentTypes } : {}),
    },
  };
}

/** A stable text of the criteria: a cursor is accepted only with the same one. */
export function criteriaKey(c: SearchCriteria): string {
  return JSON.stringify([
    c.from,
    c.to,
    c.party ?? null,
    c.connectFrom ?? null,
    c.connectTo ?? null,
    c.handlingAgentId ?? null,
    c.direction ?? null,
    c.contentTypes ? [...c.contentTypes].sort() : null,
  ]);
}

/** The criteria for results, records and messages: instants as ISO 8601 UTC. */
export function describeCriteria(c: SearchCriteria): Record<string, string | string[]> {
  return {
    from: new Date(c.from).toISOString(),
    to: new Date(c.to).toISOString(),
    ...(c.party ? { party: c.party } : {}),
    ...(c.connectFrom ? { connectFrom: c.connectFrom } : {}),
    ...(c.connectTo ? { connectTo: c.connectTo } : {}),
    ...(c.handlingAgentId ? { handlingAgentId: c.handlingAgentId } : {}),
    ...(c.direction ? { direction: c.direction } : {}),
    ...(c.contentTypes ? { contentTypes: c.contentTypes } : {}),
  };
}

/**
 * Stored criteria (a plan's, as given) as results show them: the fields that are a string or a list
 * of strings, which is all describeCriteria and an explicit list's `{ items: "explicit list" }` hold.
 */
export function criteriaRecord(value: unknown): Record<string, string | string[]> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  const out: Record<string, string | string[]> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === "string") out[key] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === "string")) out[key] = v as string[];
  }
  return out;
}

/**
 * Criteria as describeCriteria gives them (with contentTypes, ["all"] included) in words, for the
 * person who approves and for the receipt's reader: who, when (the end as the person meant it: a
 * date's whole day) and what. Anything else (an explicit list of items) is "an explicit list of items".
 */
export function criteriaInWords(criteria: unknown): string {
  if (typeof criteria !== "object" || criteria === null || Array.isArray(criteria)) return "an explicit list of items";
  const c = criteria as Record<string, unknown>;
  if (typeof c.from !== "string" || typeof c.to !== "string") return "an explicit list of items";
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : []);
  const either = (values: string[]) => (values.length <= 1 ? values.join("") : `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`);
  const who: string[] = [];
  const party = list(c.party);
  if (party.length > 0) who.push(`with ${either(party)} on either side`);
  if (typeof c.connectFrom === "string") who.push(`initiated by an address starting with ${c.connectFrom}`);
  if (typeof c.connectTo === "string") who.push(`received by an address starting with ${c.connectTo}`);
  if (typeof c.handlingAgentId === "string") who.push(`handled by agent ${c.handlingAgentId}`);
  const to = Date.parse(c.to);
  // A `to` at midnight UTC is what a date gives (its whole day included): say that day.
  const until =
    !Number.isNaN(to) && to % DAY_MS === 0
      ? `the end of ${new Date(to - DAY_MS).toISOString().slice(0, 10)} (UTC)`
      : `${formatDate(c.to)} (not included)`;
  const kind = c.direction === "inbound" || c.direction === "outbound" ? `${c.direction} interactions` : "interactions";
  const types = list(c.contentTypes);
  const what =
    types.length === 0 ? "" : types.includes("all") ? "; every content type" : `; content types: ${types.map(humanType).join(", ")}`;
  return `${kind}${who.length > 0 ? ` ${who.join(", ")},` : ""} that started between ${formatDate(c.from)} and ${until}${what}`;
}
