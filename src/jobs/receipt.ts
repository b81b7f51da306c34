// The receipt of a finished job: one JSON document (the record) and a Markdown rendering of it (for
// people), both carrying the SHA-256 of the JSON receipt's canonical form without its `sha256` field.
import { createHash } from "node:crypto";
import type { ErrorCode } from "../core/errors.js";
import { capitalise } from "../core/format.js";
import { describeIdentity, type Identity } from "../core/identity.js";
import { criteriaInWords } from "../search/criteria.js";
import type { FinalStatus, ItemResult, ItemState } from "./journal.js";
import {
  type Approval,
  type ApprovalChannel,
  exclusionLines,
  type JsonValue,
  type Plan,
  type PlanExclusions,
  type PlanTotals,
} from "./plan.js";

export const RECEIPT_FORMAT = "vcc-erasure-receipt/1";

export type ReceiptOutcome = "deleted" | "already_gone" | "failed" | "unknown" | "dry_run" | "not_attempted";

export interface ReceiptItem {
  guid: string;
  contentKey: string;
  type?: string;
  contentLength?: number;
  interactionStart?: string;
  /**
   * deleted: 204 (or a 404 after an earlier call that may have deleted it: verifiedByAbsence);
   * already_gone: 404 at the first call; failed: refused or not carried out; unknown: the DELETE may
   * or may not have been carried out; dry_run: nothing sent; not_attempted: the job ended first.
   */
  outcome: ReceiptOutcome;
  httpStatus?: number;
  /** When the outcome was recorded. */
  time?: string;
  verifiedByAbsence?: true;
  errorCode?: ErrorCode;
  message?: string;
  /** DELETE calls started for this item (a call may make several HTTP attempts within the client's retry rules). */
  deleteCalls: number;
}

export interface ReceiptTotals {
  items: number;
  deleted: number;
  verifiedByAbsence: number;
  alreadyGone: number;
  failed: number;
  unknown: number;
  dryRun: number;
  notAttempted: number;
  /** Known sizes of the deleted items. */
  bytesDeleted: number;
}

export interface Receipt {
  format: typeof RECEIPT_FORMAT;
  jobId: string;
  status: FinalStatus;
  dryRun: boolean;
  /** Sandbox mode: the simulator's sample data; nothing real was deleted. */
  sandbox?: true;
  criteria: JsonValue;
  /** Team server: who asked for the erasure. */
  requester?: Identity;
  approval: Approval;
  /** What was approved; `excluded`: what the search found and the plan left out, and why. */
  plan: { proposedAt: string; totals: PlanTotals; excluded?: PlanExclusions };
  startedAt?: string;
  endedAt: string;
  totals: ReceiptTotals;
  items: ReceiptItem[];
  /** Hex SHA-256 of canonicalJson(receipt without this field). */
  sha256: string;
}

/**
 * JSON with object keys sorted (by UTF-16 code units, as Array.prototype.sort does), no whitespace,
 * undefined members left out: for the strings, integers, booleans and nulls of a receipt this is the
 * JSON Canonicalization Scheme (RFC 8785).
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  writeCanonical(value, (text) => parts.push(text));
  return parts.join("");
}

/**
 * Feeds the canonical JSON of `value` to `write`, piece by piece: the text of canonicalJson without
 * building it whole (a receipt of 10 000 items is hashed in a few kilobytes of buffer).
 */
function writeCanonical(value: unknown, write: (text: string) => void): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") {
    write(JSON.stringify(value));
    return;
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("canonical JSON has no representation for a non-finite number");
    write(JSON.stringify(value));
    return;
  }
  if (Array.isArray(value)) {
    write("[");
    value.forEach((item, i) => {
      if (i > 0) write(",");
      if (item === undefined) write("null");
      else writeCanonical(item, write);
    });
    write("]");
    return;
  }
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    write("{");
    keys.forEach((key, i) => {
      write(`${i > 0 ? "," : ""}${JSON.stringify(key)}:`);
      writeCanonical(record[key], write);
    });
    write("}");
    return;
  }
  throw new Error(`canonical JSON has no representation for ${typeof value}`);
}

export function receiptHash(receipt: Omit<Receipt, "sha256"> | Receipt): string {
  const { sha256: _ignored, ...rest } = receipt as Receipt;
  const hash = createHash("sha256");
  let buffered = "";
  writeCanonical(rest, (text) => {
    buffered += text;
    if (buffered.length >= 65_536) {
      hash.update(buffered, "utf8");
      buffered = "";
    }
  });
  return hash.update(buffered, "utf8").digest("hex");
}

/** Whether a receipt's JSON text is intact: its sha256 is the hash of the rest. */
export function verifyReceipt(jsonText: string): boolean {
  const receipt = JSON.parse(jsonText) as Receipt;
  return typeof receipt.sha256 === "string" && receipt.sha256 === receiptHash(receipt);
}

/**
 * Started, then the job was cancelled (or its process stopped) before this DELETE was sent, and no
 * earlier one may have deleted the item: not attempted (an earlier one may have: its outcome stays unknown).
 */
export function notSentWhenStopped(result: ItemResult | undefined): boolean {
  return result?.outcome === "failed" && result.notSent === true && result.code === "cancelled" && !result.outcomeUnknown;
}

/**
 * What an item came to, as its receipt says; the job's status (JobView.progress) counts items by the
 * same rule, so that an ended job's counts and its receipt's totals agree.
 */
export function itemOutcome(state: ItemState): ReceiptOutcome {
  // Started, and the process died before the answer: nobody knows.
  if (state.inFlight) return "unknown";
  const result = state.result;
  if (!result) return "not_attempted";
  if (notSentWhenStopped(result)) return "not_attempted";
  return result.outcome === "failed" ? (result.outcomeUnknown ? "unknown" : "failed") : result.outcome;
}

/**
 * One item's line of the receipt. Built by assignment, in the order the JSON shows, rather than by
 * spreading partial objects: a receipt of 10 000 items is built without tens of megabytes of garbage.
 */
function receiptItem(plan: Plan, index: number, state: ItemState): ReceiptItem {
  const planned = plan.items[index];
  const item = { guid: planned?.guid ?? "", contentKey: planned?.contentKey ?? "" } as ReceiptItem;
  if (planned?.type !== undefined) item.type = planned.type;
  if (planned?.contentLength !== undefined) item.contentLength = planned.contentLength;
  if (planned?.interactionStart !== undefined) item.interactionStart = planned.interactionStart;
  item.deleteCalls = state.deleteCalls;
  const result = state.result;
  item.outcome = itemOutcome(state);
  if (!state.inFlight && result) {
    if ("httpStatus" in result && result.httpStatus !== undefined) item.httpStatus = result.httpStatus;
    if (state.at !== undefined) item.time = state.at;
    if (result.outcome === "deleted" && result.verifiedByAbsence) item.verifiedByAbsence = true;
    if (result.outcome === "failed") {
      item.errorCode = result.code;
      item.message = result.message;
    }
  }
  return item;
}

export function buildReceipt(input: {
  plan: Plan;
  items: readonly ItemState[];
  status: FinalStatus;
  startedAt?: string;
  endedAt: string;
}): Receipt {
  const { plan } = input;
  const items = input.items.map((state, index) => receiptItem(plan, index, state));
  const totals: ReceiptTotals = {
    items: items.length,
    deleted: 0,
    verifiedByAbsence: 0,
    alreadyGone: 0,
    failed: 0,
    unknown: 0,
    dryRun: 0,
    notAttempted: 0,
    bytesDeleted: 0,
  };
  for (const item of items) {
    if (item.outcome === "deleted") {
      totals.deleted++;
      if (item.verifiedByAbsence) totals.verifiedByAbsence++;
      totals.bytesDeleted += item.contentLength ?? 0;
    } else if (item.outcome === "already_gone") totals.alreadyGone++;
    else if (item.outcome === "failed") totals.failed++;
    else if (item.outcome === "unknown") totals.unknown++;
    else if (item.outcome === "dry_run") totals.dryRun++;
    else totals.notAttempted++;
  }
  const unsigned: Omit<Receipt, "sha256"> = {
    format: RECEIPT_FORMAT,
    jobId: plan.jobId,
    status: input.status,
    dryRun: plan.dryRun,
    ...(plan.sandbox ? { sandbox: true as const } : {}),
    criteria: plan.criteria,
    ...(plan.requester ? { requester: plan.requester } : {}),
    approval: plan.approval,
    plan: { proposedAt: plan.proposedAt, totals: plan.totals, ...(plan.excluded ? { excluded: plan.excluded } : {}) },
    ...(input.startedAt !== undefined ? { startedAt: input.startedAt } : {}),
    endedAt: input.endedAt,
    totals,
    items,
  };
  return { ...unsigned, sha256: receiptHash(unsigned) };
}

/** The JSON receipt file's text. */
export function receiptJson(receipt: Receipt): string {
  return [...receiptJsonPieces(receipt)].join("");
}

const ITEMS_MARK = "\u0000items\u0000";

/**
 * The same text as receiptJson (JSON.stringify with two-space indentation), in pieces: the head, one
 * piece per item, the tail. A receipt of 10 000 items is written without building its whole text.
 */
export function* receiptJsonPieces(receipt: Receipt): Generator<string> {
  const frame = JSON.stringify({ ...receipt, items: ITEMS_MARK }, null, 2);
  const mark = JSON.stringify(ITEMS_MARK);
  const at = frame.indexOf(mark);
  yield frame.slice(0, at);
  if (receipt.items.length === 0) yield "[]";
  else {
    yield "[\n";
    for (const [i, item] of receipt.items.entries())
      yield `${i > 0 ? ",\n" : ""}    ${JSON.stringify(item, null, 2).replace(/\n/g, "\n    ")}`;
    yield "\n  ]";
  }
  yield `${frame.slice(at + mark.length)}\n`;
}

/** A table cell: no line breaks, pipes escaped. */
function cell(value: string | number | undefined): string {
  if (value === undefined) return "";
  const text = String(value);
  // Most cells (GUIDs, keys, times) need nothing: no new strings for them.
  if (!/[\r\n\\|]/.test(text)) return text;
  return text.replace(/\r?\n/g, " ").replace(/\\/g, "\\\\").replace(/\|/g, "\\|");
}

const STATUS_WORDS: Record<FinalStatus, string> = {
  completed: "completed",
  completed_with_errors: "completed with errors",
  cancelled: "cancelled",
};

/** A person on the receipt: name and email where known, and always the subject at its issuer. */
/** Where an approval was given: its client, session and (stdio) the server's OS account; "" when not recorded. */
function channel(via: ApprovalChannel | undefined): string {
  if (!via) return "";
  const parts = [
    ...(via.client ? [`in ${via.client.name} ${via.client.version}`] : []),
    ...(via.sessionId ? [`MCP session ${via.sessionId}`] : []),
    ...(via.osUser ? [`the server running as OS user ${via.osUser}`] : []),
  ];
  return parts.length > 0 ? `, ${cell(parts.join(", "))}` : "";
}

function who(identity: Identity): string {
  const described = describeIdentity(identity);
  const named = described === identity.subject ? "" : `${described}, `;
  return cell(`${named}subject ${identity.subject} at ${identity.issuer}`);
}

/** The Markdown receipt: the same facts as the JSON, for people; the JSON is the record that is hashed. */
export function receiptMarkdown(receipt: Receipt): string {
  return [...receiptMarkdownPieces(receipt)].join("");
}

/** The Markdown receipt in pieces (one per item row), for writing without building it whole. */
export function* receiptMarkdownPieces(receipt: Receipt): Generator<string> {
  const t = receipt.totals;
  const a = receipt.approval;
  const lines = [
    `# Erasure receipt ${receipt.jobId}`,
    "",
    receipt.sandbox ? "**Sandbox: the local simulator's sample data; nothing real was deleted.**\n" : "",
    receipt.dryRun ? "**Dry run: no DELETE was sent; nothing was deleted.**\n" : "",
    `- Status: **${STATUS_WORDS[receipt.status]}**`,
    ...(receipt.requester ? [`- Requested by: ${who(receipt.requester)}`] : []),
    `- Started: ${receipt.startedAt ?? "never (cancelled before it started)"}`,
    `- Ended: ${receipt.endedAt}`,
    `- Approved: ${a.approvedAt} by ${a.method === "elicitation" ? "a prompt in the client" : a.method === "token" ? "a confirmation token" : "the approval page"}${a.approver ? ` (${who(a.approver)})` : a.approvedBy ? ` (${a.approvedBy})` : ""}${a.passkey ? ` with passkey ${cell(a.passkey)}` : ""}${channel(a.via)}; valid for resuming until ${a.expiresAt}`,
    `- Planned: ${receipt.plan.totals.items} items of ${receipt.plan.totals.interactions} interactions (${receipt.plan.proposedAt})`,
    "",
    "## Criteria",
    "",
    `${capitalise(criteriaInWords(receipt.criteria))}:`,
    "",
    "```json",
    JSON.stringify(receipt.criteria, null, 2),
    "```",
    "",
    ...(receipt.plan.excluded ? ["## Not included", "", ...exclusionLines(receipt.plan.excluded).map((l) => `- ${cell(l)}`), ""] : []),
    "## Totals",
    "",
    "| Outcome | Items |",
    "| --- | ---: |",
    `| deleted | ${t.deleted} |`,
    `| of which verified by absence | ${t.verifiedByAbsence} |`,
    `| already gone (404) | ${t.alreadyGone} |`,
    `| failed | ${t.failed} |`,
    `| outcome unknown | ${t.unknown} |`,
    `| dry run | ${t.dryRun} |`,
    `| not attempted | ${t.notAttempted} |`,
    `| **all** | **${t.items}** |`,
    "",
    `Bytes deleted (known sizes): ${t.bytesDeleted}`,
    "",
    "## Items",
    "",
    "| # | Interaction | Content key | Type | Outcome | HTTP | Time | Note |",
    "| ---: | --- | --- | --- | --- | ---: | --- | --- |",
    ROWS,
    "",
    "## Integrity",
    "",
    `SHA-256: \`${receipt.sha256}\``,
    "",
    "This is the SHA-256 (hex) of the JSON receipt (receipt.json) without its `sha256` member, in canonical form: object keys sorted, no whitespace (RFC 8785). This Markdown file is a rendering and is not itself hashed.",
    "",
  ];
  const kept = lines.filter((line, i) => line !== "" || lines[i - 1] !== "");
  const rows = kept.indexOf(ROWS);
  yield `${kept.slice(0, rows).join("\n")}\n`;
  for (const [i, item] of receipt.items.entries()) {
    const note = item.verifiedByAbsence ? "verified by absence" : item.errorCode ? `${item.errorCode}: ${item.message ?? ""}` : "";
    yield `| ${i + 1} | ${cell(item.guid)} | ${cell(item.contentKey)} | ${cell(item.type)} | ${item.outcome} | ${cell(item.httpStatus)} | ${cell(item.time)} | ${cell(note)} |\n`;
  }
  yield kept.slice(rows + 1).join("\n");
}

/** Where the item rows go in the Markdown receipt's lines. */
const ROWS = "\u0000rows\u0000";
