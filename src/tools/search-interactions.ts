// search_interactions: find the interactions of a person (phone number, email, chat handle) or an
// agent in a date range, with the content they still hold, so that an erasure request can be
// carried out. Read-only. The search engine is src/search/; this file is its MCP face.
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { SearchAuditRecord } from "../audit.js";
import { ERROR_CODE_LIST, type ToolError } from "../core/errors.js";
import { describeTypeCounts, formatBytes, formatDate, humanType } from "../core/format.js";
import { describeWait, progressFor } from "../deletion/progress.js";
import { log } from "../log.js";
import {
  criteriaKey,
  DEFAULT_MAX_RESULTS,
  describeCriteria,
  describeRewritten,
  MAX_ADDRESS_LENGTH,
  MAX_MAX_RESULTS,
  MAX_PARTIES,
  normaliseCriteria,
  type SearchCriteria,
} from "../search/criteria.js";
import { CURSOR_REFUSALS, continueCursor, cursorOwner, issueCursor, type SearchPosition } from "../search/cursors.js";
import { DEFAULT_BUDGET_MS, runSearch, type SearchOutcome } from "../search/engine.js";
import { StateUnavailableError, stateUnavailable } from "../state/index.js";
import { READ_SCOPE } from "../vcc/scopes.js";
import type { FoundInteraction } from "../vcc/search.js";
import type { ToolContext } from "./context.js";
import { type CallExtra, defineTool } from "./define.js";
import { errorText, sandboxSchema, toolErrorSchema, toolResult } from "./results.js";

export const SEARCH_TOOL_NAME = "search_interactions";

const address = (what: string) =>
  z
    .string()
    .min(1, { message: `${what} must not be empty` })
    .max(MAX_ADDRESS_LENGTH, { message: `${what} must be at most ${MAX_ADDRESS_LENGTH} characters` });

const PARTY_LIST = 'party must be a list (a JSON array), even of one address: e.g. ["+441632960101", "01632960101"]';
const PARTY_COUNT = `party takes 1-${MAX_PARTIES} addresses`;

/**
 * Criteria in results (search, erasure plans and jobs): each field a string or a list of strings,
 * as describeCriteria gives them (an erasure of explicit items: `{ items: "explicit list" }`).
 */
export const criteriaOutput = z.record(z.string(), z.union([z.string(), z.array(z.string())]));

/** A list of content types (search_interactions and erase_interaction_content), with messages that say what to send. */
export const contentTypesList = z
  .array(z.string().min(1).max(50), {
    error: 'contentTypes must be a list (a JSON array): e.g. ["callRecording", "transcript"] or ["all"]',
  })
  .min(1, { error: "contentTypes takes 1-20 content types" })
  .max(20, { error: "contentTypes takes 1-20 content types" });

/** Who, when and what: the criteria fields, shared with erase_interaction_content (one schema, one validation: normaliseCriteria). */
export const criteriaShape = {
  from: z
    .string()
    .min(10)
    .max(40)
    .describe("Start of the period, inclusive: ISO 8601 date (2025-01-31) or date-time (2025-01-31T09:00:00+01:00); UTC when no offset."),
  to: z
    .string()
    .min(10)
    .max(40)
    .describe(
      "End of the period: a date includes that whole day (UTC); a date-time is exclusive. At most two years after from, and not more than a day in the future.",
    ),
  // The messages say what to send: zod checks an array's length on a string too, and without them a
  // single number given as a string was also told "expected string to have <=5 characters", which
  // invites cutting the number short.
  party: z
    .array(address("A party address"), { error: PARTY_LIST })
    .min(1, { error: PARTY_COUNT })
    .max(MAX_PARTIES, { error: PARTY_COUNT })
    .optional()
    .describe(
      `1-${MAX_PARTIES} addresses of the person (phone numbers, emails, chat handles). Each is matched as the party that started OR received the interaction, exactly (case aside): a longer address that merely starts with it is another person's. Numbers are matched as the account stores them: +441632960101 does not match 01632960101, so pass each format the user's number may be stored in (e.g. +441632960101, 441632960101, 01632960101). Spaces, dashes, dots and brackets in a number are removed (numbers are stored without them), and the order of the addresses does not matter.`,
    ),
  connectFrom: address("connectFrom")
    .optional()
    .describe("Only the party that started the interaction (starts-with match). Not together with party."),
  connectTo: address("connectTo")
    .optional()
    .describe("Only the party that received the interaction (starts-with match). Not together with party."),
  handlingAgentId: address("handlingAgentId").optional().describe("An agent's id (e.g. 67833): interactions this agent handled."),
  direction: z.enum(["inbound", "outbound"]).optional(),
};

const inputSchema = z
  .object({
    ...criteriaShape,
    contentTypes: contentTypesList
      .optional()
      .describe(
        "Only these content types, e.g. callRecording, transcript, voicemail, chatTranscript, screenRecording. Interactions left with none are not returned.",
      ),
    maxResults: z
      .number()
      .int()
      .min(1)
      .max(MAX_MAX_RESULTS)
      .optional()
      .describe(`Interactions to return in this call (default ${DEFAULT_MAX_RESULTS}, at most ${MAX_MAX_RESULTS}).`),
    cursor: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe("The cursor of the previous call, to continue where it stopped; pass the same criteria with it."),
  })
  .strict();

const windowSchema = z.object({ start: z.string(), end: z.string() });

const outputSchema = z.object({
  interactions: z.array(
    z.object({
      guid: z.string(),
      start: z.string().optional(),
      direction: z.string().optional(),
      connectFrom: z.string().optional(),
      connectTo: z.string().optional(),
      handlingAgentIds: z.array(z.string()),
      content: z.array(
        z.object({
          contentKey: z.string().describe("Pass with the guid to the delete tools."),
          type: z.string().optional(),
          contentType: z.string().optional(),
          contentLength: z.number().optional().describe("Size in bytes, when the API gave it."),
          lastModified: z.string().optional(),
        }),
      ),
    }),
  ),
  totals: z.object({
    interactions: z.number().int(),
    items: z.number().int(),
    bytes: z.number().describe("Sum of the sizes the API gave."),
    itemsWithoutSize: z.number().int(),
    byType: z.record(z.string(), z.number().int()).describe("Content items per type ('unknown' when the API gave none)."),
  }),
  windows: z.object({
    total: z.number().int().describe("7-day windows the range is split into."),
    done: z.number().int().describe("Windows fully searched so far (this call and the ones before it)."),
    searched: z.array(windowSchema).describe("Windows fully searched in this call."),
  }),
  complete: z.boolean().describe("True when the whole range was searched and everything found has been returned."),
  cursor: z.string().optional().describe("There is more: call again with the same criteria and this cursor."),
  cursorExpiresAt: z.string().optional(),
  stoppedBecause: z.enum(["max_results", "time_budget", "error", "cancelled"]).optional(),
  criteria: criteriaOutput.optional().describe("The criteria as searched (from/to in UTC, to exclusive)."),
  requests: z.number().int().describe("API requests made by this call."),
  unreadable: z.number().int().optional().describe("Records the API sent that could not be read (not included)."),
  otherTypes: z
    .record(z.string(), z.number().int())
    .optional()
    .describe(
      "With contentTypes: items of the matching interactions of other types in this call, by type ('unknown': no type given); not listed.",
    ),
  error: toolErrorSchema.extend({ code: z.enum(ERROR_CODE_LIST) }).optional(),
  sandbox: sandboxSchema,
});

type Output = z.infer<typeof outputSchema>;

export interface SearchToolOptions {
  budgetMs?: number;
  now?: () => number;
}

/** The owner of one session's cursors (a ToolContext per session): the person on a team server, else the session. */
const owners = new WeakMap<ToolContext, string>();
function ownerOf(context: ToolContext): string {
  let owner = owners.get(context);
  if (owner === undefined) {
    owner = cursorOwner(context.requester);
    owners.set(context, owner);
  }
  return owner;
}

function totalsOf(interactions: FoundInteraction[]): Output["totals"] {
  // A Map: a type is the API's text, and may be named like an object's property ("constructor", "__proto__").
  const byType = new Map<string, number>();
  let items = 0;
  let bytes = 0;
  let itemsWithoutSize = 0;
  for (const i of interactions) {
    for (const c of i.content) {
      items++;
      const type = c.type ?? "unknown";
      byType.set(type, (byType.get(type) ?? 0) + 1);
      if (c.contentLength === undefined) itemsWithoutSize++;
      else bytes += c.contentLength;
    }
  }
  return { interactions: interactions.length, items, bytes, itemsWithoutSize, byType: Object.fromEntries(byType) };
}

const iso = (ms: number) => new Date(ms).toISOString();

function emptyOutput(): Output {
  return {
    interactions: [],
    totals: totalsOf([]),
    windows: { total: 0, done: 0, searched: [] },
    complete: false,
    requests: 0,
  };
}

function describeTypes(byType: Record<string, number>): string {
  return Object.entries(byType)
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => `${n} ${humanType(type)}${n === 1 ? "" : "s"}`)
    .join(", ");
}

function lineOf(i: FoundInteraction): string {
  const who = [i.connectFrom ?? "?", i.connectTo ?? "?"].join(" → ");
  const items = i.content
    .map(
      (c) =>
        `${c.contentKey} (${[c.type ? humanType(c.type) : "unknown type", c.contentLength !== undefined ? formatBytes(c.contentLength) : "size unknown"].join(", ")})`,
    )
    .join("; ");
  return `- ${formatDate(i.start)} ${i.direction ?? "direction unknown"} ${who}, guid ${i.guid}: ${items}`;
}

/** `continued`: the call went on from a cursor (its counts are this call's only, not the whole search's). */
function summaryText(output: Output, criteria: SearchCriteria, continued = false, rewritten = ""): string {
  const t = output.totals;
  const period = `from ${formatDate(iso(criteria.from))} up to ${formatDate(iso(criteria.to))}`;
  const size = `${formatBytes(t.bytes)}${t.itemsWithoutSize > 0 ? ` plus ${t.itemsWithoutSize} item(s) of unknown size` : ""}`;
  const head =
    t.interactions === 0
      ? `No interactions with content found in this call (${period}).`
      : `Found ${t.interactions} interaction${t.interactions === 1 ? "" : "s"} with ${t.items} content item${t.items === 1 ? "" : "s"} (${size}: ${describeTypes(t.byType)}), ${period}.`;
  const windows = `Searched ${output.windows.done} of ${output.windows.total} 7-day windows (${output.requests} API request${output.requests === 1 ? "" : "s"} in this call).`;
  const lines = output.interactions.map(lineOf);
  const otherTypes =
    output.otherTypes && Object.keys(output.otherTypes).length > 0
      ? `Not listed: ${describeTypeCounts(output.otherTypes)} of the same interactions${continued ? " in this call" : ""}, not among contentTypes${t.interactions === 0 && !continued ? ": check the type names in contentTypes" : ""}.`
      : "";
  // One address of a person: the same number may be stored in other formats too.
  const oneFormat = (criteria.party?.length ?? 0) + (criteria.connectFrom ? 1 : 0) + (criteria.connectTo ? 1 : 0) === 1;
  const formats =
    "Numbers match only as stored: if the person's number may also be stored in another format (with or without the country code, with a leading 0), search those too (party takes several).";
  let next: string;
  // Searched to the end, but not everything could be read: not complete, and continuing cannot help.
  const unreadableOnly = !output.complete && !output.cursor && !output.stoppedBecause && Boolean(output.unreadable);
  if (output.complete)
    next =
      t.interactions > 0
        ? `The search is complete.${oneFormat ? ` ${formats}` : ""} To erase everything found (of the types wanted), call erase_interaction_content with the same criteria and contentTypes: one approval, then a background job with a receipt. To delete a few chosen items, pass their guid and contentKey to bulk_delete_interaction_content. A person must approve either.`
        : continued
          ? "The search is complete: this last call found nothing more (the earlier calls' results stand)."
          : otherTypes
            ? "The search is complete: the person's interactions were found, but none holds content of the types asked for."
            : `The search is complete. ${formats}`;
  else if (unreadableOnly)
    next = `Not complete: the whole period was searched, but ${output.unreadable} record(s) the API sent could not be read, so they are not listed, and an erasure by these criteria would leave them out. Look at them in the VCC Admin Portal, or narrow the period to find them.`;
  else if (output.cursor)
    next = `Not complete (${output.stoppedBecause === "time_budget" ? "this call's time budget was spent" : output.stoppedBecause === "max_results" ? "maxResults reached" : "stopped by an error"}): call search_interactions again with the same criteria and cursor "${output.cursor}" (expires ${output.cursorExpiresAt}).`;
  else next = "Not complete.";
  const unreadable =
    output.unreadable && !unreadableOnly
      ? `The API sent ${output.unreadable} record(s) this server could not read; they are not listed.`
      : "";
  return [head, rewritten, ...lines, windows, unreadable, otherTypes, next].filter(Boolean).join("\n");
}

function searchRecord(
  criteria: SearchCriteria | undefined,
  output: Output,
  continued: boolean,
  durationMs: number,
  outcome: string,
): SearchAuditRecord {
  return {
    event: "search",
    tool: SEARCH_TOOL_NAME,
    outcome,
    criteria: criteria ? describeCriteria(criteria) : {},
    continued,
    interactions: output.totals.interactions,
    items: output.totals.items,
    bytes: output.totals.bytes,
    requests: output.requests,
    windowsDone: output.windows.done,
    windowsTotal: output.windows.total,
    durationMs,
    ...(output.stoppedBecause ? { stoppedBecause: output.stoppedBecause } : {}),
    ...(output.error ? { errorCode: output.error.code } : {}),
  };
}

/** The tool, with its budget and clock (tests pass their own). Cursors are kept in `context.state`. */
export function searchInteractionsTool(options: SearchToolOptions = {}) {
  const now = options.now ?? Date.now;
  const budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;

  return defineTool({
    name: SEARCH_TOOL_NAME,
    title: "Search interactions",
    description: `Find the Vonage Contact Center interactions of a person or an agent in a period, with the content each still holds (call recordings, transcripts, voicemails, ...): the first step of an erasure request. Read-only. Give from/to (up to two years) and at least one of party, connectFrom, connectTo or handlingAgentId. party addresses match exactly as stored (connectFrom/connectTo: by how the stored address starts): +441632960101 does not match 01632960101, so pass every format the user's number may have (up to ${MAX_PARTIES} in party). Returns up to maxResults interactions per call; when complete is false, call again with the same criteria and the returned cursor. To erase what was found (an erasure request), call erase_interaction_content with the same criteria and contentTypes: one approval, a background job, a receipt; to delete a few chosen items, bulk_delete_interaction_content.`,
    inputSchema,
    outputSchema,
    annotations: {
      title: "Search interactions",
      readOnlyHint: true,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: true,
    },
    destructive: false,
    async handler(input, context: ToolContext, extra: CallExtra): Promise<CallToolResult> {
      const started = now();
      const sandbox = context.config.sandbox;
      const continued = input.cursor !== undefined;
      const audit = async (record: SearchAuditRecord): Promise<ToolError | undefined> => {
        try {
          await context.audit.write(record, context.auditContext(extra.sessionId));
          return undefined;
        } catch {
          return {
            code: "audit_failed",
            message: "The audit log could not be written, so the results of this search are withheld. Check VCC_AUDIT_LOG and try again.",
          };
        }
      };
      const fail = async (error: ToolError, criteria?: SearchCriteria, partial?: Output): Promise<CallToolResult> => {
        const output: Output = { ...(partial ?? emptyOutput()), error, complete: false };
        const auditError = await audit(
          searchRecord(
            criteria,
            output,
            continued,
            now() - started,
            error.code === "invalid_input" ? "refused" : error.code === "cancelled" ? "cancelled" : "error",
          ),
        );
        if (auditError) return toolResult({ ...emptyOutput(), error: auditError }, errorText(auditError), { isError: true, sandbox });
        const found =
          criteria && partial && partial.totals.interactions > 0 ? `\nBefore it stopped:\n${summaryText(output, criteria)}` : "";
        // The cursor to go on from, in the text too (a client may read only the text).
        const resume =
          !found && output.cursor
            ? `\nTo try again from there: the same criteria and cursor "${output.cursor}" (expires ${output.cursorExpiresAt}).`
            : "";
        return toolResult(output, `${errorText(error)}${found}${resume}`, { isError: true, sandbox });
      };

      const checked = normaliseCriteria(input, now());
      if (!checked.ok) return fail(checked.error);
      const criteria = checked.criteria;
      const key = criteriaKey(criteria);
      const owner = ownerOf(context);
      let position: SearchPosition | undefined;
      if (input.cursor !== undefined) {
        let taken: Awaited<ReturnType<typeof continueCursor>>;
        try {
          taken = await continueCursor(context.state.cursors, input.cursor, owner, key);
        } catch (error) {
          if (!(error instanceof StateUnavailableError)) throw error;
          return fail(
            stateUnavailable(error, "Nothing was searched: the cursor could not be read (a search without a cursor still works)", {
              outcomeKnown: true,
            }),
            criteria,
          );
        }
        if (!taken.ok) return fail({ code: "invalid_input", message: `${CURSOR_REFUSALS[taken.reason]} Nothing was searched.` }, criteria);
        position = taken.position;
      }

      const api = await context.api(extra.signal, READ_SCOPE);
      if (!api.ok) return fail(api.error, criteria);
      const client = api.client;
      const progress = progressFor(extra, 1);
      let total = 0;
      const outcome: SearchOutcome = await runSearch(criteria, input.maxResults ?? DEFAULT_MAX_RESULTS, position, {
        request: (query, requestOptions) => client.searchInteractions(query, requestOptions),
        signal: extra.signal,
        budgetMs,
        // The pace the API accepted this process's searches at, kept across calls (a cursor's call too).
        pacer: client.searchPace,
        now,
        onProgress: ({ windowsDone, windowsTotal, found }) => {
          total = windowsTotal;
          progress?.report({
            progress: windowsDone,
            total: windowsTotal,
            message: `Searched ${windowsDone} of ${windowsTotal} windows; ${found} interaction(s) found in this call.`,
          });
        },
        onWait: (windowsDone, event) => {
          // Halfway to the next window: progress must increase with every notification.
          progress?.report({ progress: windowsDone + 0.5, total: total || windowsDone + 1, message: describeWait(event) });
        },
      });
      log.debug("search finished", {
        stop: outcome.stop,
        found: outcome.interactions.length,
        requests: outcome.requests,
        windows: `${outcome.windowsDone}/${outcome.windows.length}`,
      });

      const output: Output = {
        interactions: outcome.interactions,
        totals: totalsOf(outcome.interactions),
        windows: {
          total: outcome.windows.length,
          done: outcome.windowsDone,
          searched: outcome.windowsSearched.map((w) => ({ start: iso(w.start), end: iso(w.end) })),
        },
        // Records that could not be read are not in the list: it is then not everything there is.
        complete: outcome.stop === "complete" && outcome.unreadable === 0,
        ...(outcome.stop !== "complete" ? { stoppedBecause: outcome.stop } : {}),
        criteria: describeCriteria(criteria),
        requests: outcome.requests,
        ...(outcome.unreadable > 0 ? { unreadable: outcome.unreadable } : {}),
        ...(Object.keys(outcome.otherTypes).length > 0 ? { otherTypes: outcome.otherTypes } : {}),
      };
      if (outcome.stop === "cancelled")
        return fail(
          { code: "cancelled", message: "The search was cancelled; what was found so far is included, without a cursor." },
          criteria,
          output,
        );
      if (outcome.next) {
        try {
          const issued = await issueCursor(context.state.cursors, owner, key, outcome.next);
          output.cursor = issued.cursor;
          output.cursorExpiresAt = iso(issued.expiresAt);
        } catch (error) {
          if (!(error instanceof StateUnavailableError)) throw error;
          // What was found is returned; only the way to continue is missing.
          return fail(
            stateUnavailable(error, "What was found so far is included, but no cursor could be kept to continue this search", {
              outcomeKnown: true,
            }),
            criteria,
            output,
          );
        }
      }
      if (outcome.error) return fail(outcome.error, criteria, output);
      const auditError = await audit(searchRecord(criteria, output, continued, now() - started, output.complete ? "complete" : "partial"));
      if (auditError) return toolResult({ ...emptyOutput(), error: auditError }, errorText(auditError), { isError: true, sandbox });
      return toolResult(output, summaryText(output, criteria, input.cursor !== undefined, describeRewritten(input)), { sandbox });
    },
  });
}

export const searchInteractionsDefinition = searchInteractionsTool();
