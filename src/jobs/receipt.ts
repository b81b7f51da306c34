// The receipt of a finished job: one JSON document (the record) and a Markdown rendering of it (for
// people), both carrying the SHA-256 of the JSON receipt's canonical form without its `sha256` field.
import { createHash } from "node:crypto";
import type { ErrorCode } from "../core/errors.js";
import { describeIdentity, type Identity } from "../core/identity.js";
import type { FinalStatus, ItemState } from "./journal.js";
import type { Approval, JsonValue, Plan, PlanTotals } from "./plan.js";

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
  criteria: JsonValue;
  /** Team server: who asked for the erasure. */
  requester?: Identity;
  approval: Approval;
  plan: { proposedAt: string; totals: PlanTotals };
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
  if (value === null || typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("canonical JSON has no representation for a non-finite number");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(",")}}`;
  }
  throw new Error(`canonical JSON has no representation for ${typeof value}`);
}

export function receiptHash(receipt: Omit<Receipt, "sha256"> | Receipt): string {
  const { sha256: _ignored, ...rest } = receipt as Receipt;
  return createHash("sha256").update(canonicalJson(rest), "utf8").digest("hex");
}

/** Whether a receipt's JSON text is intact: its sha256 is the hash of the rest. */
export function verifyReceipt(jsonText: string): boolean {
  const receipt = JSON.parse(jsonText) as Receipt;
  return typeof receipt.sha256 === "string" && receipt.sha256 === receiptHash(receipt);
}

function receiptItem(plan: Plan, index: number, state: ItemState): ReceiptItem {
  const planned = plan.items[index];
  const base = {
    guid: planned?.guid ?? "",
    contentKey: planned?.contentKey ?? "",
    ...(planned?.type !== undefined ? { type: planned.type } : {}),
    ...(planned?.contentLength !== undefined ? { contentLength: planned.contentLength } : {}),
    ...(planned?.interactionStart !== undefined ? { interactionStart: planned.interactionStart } : {}),
    deleteCalls: state.deleteCalls,
  };
  const result = state.result;
  const time = state.at !== undefined ? { time: state.at } : {};
  // Started, and the process died before the answer: nobody knows.
  if (state.inFlight) return { ...base, outcome: "unknown" };
  if (!result) return { ...base, outcome: "not_attempted" };
  switch (result.outcome) {
    case "deleted":
      return {
        ...base,
        outcome: "deleted",
        httpStatus: result.httpStatus,
        ...time,
        ...(result.verifiedByAbsence ? { verifiedByAbsence: true } : {}),
      };
    case "already_gone":
      return { ...base, outcome: "already_gone", httpStatus: result.httpStatus, ...time };
    case "dry_run":
      return { ...base, outcome: "dry_run", ...time };
    case "failed":
      return {
        ...base,
        outcome: result.outcomeUnknown ? "unknown" : "failed",
        ...(result.httpStatus !== undefined ? { httpStatus: result.httpStatus } : {}),
        ...time,
        errorCode: result.code,
        message: result.message,
      };
  }
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
    criteria: plan.criteria,
    ...(plan.requester ? { requester: plan.requester } : {}),
    approval: plan.approval,
    plan: { proposedAt: plan.proposedAt, totals: plan.totals },
    ...(input.startedAt !== undefined ? { startedAt: input.startedAt } : {}),
    endedAt: input.endedAt,
    totals,
    items,
  };
  return { ...unsigned, sha256: receiptHash(unsigned) };
}

/** The JSON receipt file's text. */
export function receiptJson(receipt: Receipt): string {
  return `${JSON.stringify(receipt, null, 2)}\n`;
}

/** A table cell: no line breaks, pipes escaped. */
function cell(value: string | number | undefined): string {
  if (value === undefined) return "";
  return String(value).replace(/\r?\n/g, " ").replace(/\\/g, "\\\\").replace(/\|/g, "\\|");
}

const STATUS_WORDS: Record<FinalStatus, string> = {
  completed: "completed",
  completed_with_errors: "completed with errors",
  cancelled: "cancelled",
};

/** A person on the receipt: name and email where known, and always the subject at its issuer. */
function who(identity: Identity): string {
  const described = describeIdentity(identity);
  const named = described === identity.subject ? "" : `${described}, `;
  return cell(`${named}subject ${identity.subject} at ${identity.issuer}`);
}

/** The Markdown receipt: the same facts as the JSON, for people; the JSON is the record that is hashed. */
export function receiptMarkdown(receipt: Receipt): string {
  const t = receipt.totals;
  const a = receipt.approval;
  const lines = [
    `# Erasure receipt ${receipt.jobId}`,
    "",
    receipt.dryRun ? "**Dry run: no DELETE was sent; nothing was deleted.**\n" : "",
    `- Status: **${STATUS_WORDS[receipt.status]}**`,
    ...(receipt.requester ? [`- Requested by: ${who(receipt.requester)}`] : []),
    `- Started: ${receipt.startedAt ?? "never (cancelled before it started)"}`,
    `- Ended: ${receipt.endedAt}`,
    `- Approved: ${a.approvedAt} by ${a.method === "elicitation" ? "a prompt in the client" : a.method === "token" ? "a confirmation token" : "the approval page"}${a.approver ? ` (${who(a.approver)})` : a.approvedBy ? ` (${a.approvedBy})` : ""}; valid for resuming until ${a.expiresAt}`,
    `- Planned: ${receipt.plan.totals.items} items of ${receipt.plan.totals.interactions} interactions (${receipt.plan.proposedAt})`,
    "",
    "## Criteria",
    "",
    "```json",
    JSON.stringify(receipt.criteria, null, 2),
    "```",
    "",
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
    ...receipt.items.map((item, i) => {
      const note = item.verifiedByAbsence ? "verified by absence" : item.errorCode ? `${item.errorCode}: ${item.message ?? ""}` : "";
      return `| ${i + 1} | ${cell(item.guid)} | ${cell(item.contentKey)} | ${cell(item.type)} | ${item.outcome} | ${cell(item.httpStatus)} | ${cell(item.time)} | ${cell(note)} |`;
    }),
    "",
    "## Integrity",
    "",
    `SHA-256: \`${receipt.sha256}\``,
    "",
    "This is the SHA-256 (hex) of the JSON receipt (receipt.json) without its `sha256` member, in canonical form: object keys sorted, no whitespace (RFC 8785). This Markdown file is a rendering and is not itself hashed.",
    "",
  ];
  return lines.filter((line, i) => line !== "" || lines[i - 1] !== "").join("\n");
}
