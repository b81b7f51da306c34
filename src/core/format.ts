// Human-readable words for results, prompts and the approval page: sizes, dates, and what an item
// is. What the API did not say is "unknown", never a made-up value.
import type { ContentPreview } from "./content.js";
import { instantOf } from "./time.js";

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "unknown size";
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** "2026-11-23 09:21 UTC", or the input unchanged when it is not a date. */
export function formatDate(iso: string | undefined): string {
  if (!iso) return "unknown date";
  const time = instantOf(iso);
  if (Number.isNaN(time)) return iso;
  return `${new Date(time).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "call recording 'callRecording' (audio/wav, 2.5 MB, last modified 2026-11-23 09:21 UTC)"; each unknown detail says so. */
export function describePreview(preview: ContentPreview, contentKey?: string): string {
  const details = [
    preview.contentType ?? "content type unknown",
    preview.contentLength !== undefined ? formatBytes(preview.contentLength) : "size unknown",
    preview.lastModified ? `last modified ${formatDate(preview.lastModified)}` : "last modified unknown",
  ];
  return `${preview.type ? humanType(preview.type) : "item of unknown type"}${contentKey ? ` '${contentKey}'` : ""} (${details.join(", ")})`;
}

/** "Inbound interaction from +441632960101 to +441632960900 on 2026-11-23 09:14 UTC" (the API writes `inbound`). */
export function describeInteraction(interaction: { direction?: string; connectFrom?: string; connectTo?: string; start?: string }): string {
  const parts = [interaction.direction ? `${capitalise(interaction.direction)} interaction` : "Interaction"];
  if (interaction.connectFrom) parts.push(`from ${interaction.connectFrom}`);
  if (interaction.connectTo) parts.push(`to ${interaction.connectTo}`);
  if (interaction.start) parts.push(`on ${formatDate(interaction.start)}`);
  return parts.join(" ");
}

/** callRecording → "call recording"; aiConversationSummary → "AI conversation summary". */
export function humanType(type: string): string {
  const words = type
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/^ai\b/i, "AI")
    .replace(/\bivr\b/i, "IVR")
    .split(" ");
  return words
    .map((w, i) => (i === 0 || w === "AI" || w === "IVR" ? w : w.toLowerCase()))
    .join(" ")
    .replace(/^[a-z]/, (c) => c.toLowerCase());
}

/**
 * Counts of items by their type's name as the API gives it (what contentTypes takes), largest first:
 * "6 item(s) of type transcript, 1 item(s) whose type the API did not give" ("unknown": none given).
 * The one wording of what a plan, a search or a verification found besides the types asked for.
 */
export function describeTypeCounts(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([type, n]) => (type === "unknown" ? `${n} item(s) whose type the API did not give` : `${n} item(s) of type ${type}`))
    .join(", ");
}

/**
 * A question of what a deletion will do ("Permanently delete …? This cannot be undone."), as a dry
 * run (VCC_DRY_RUN=true) asks it: nothing is deleted, so nothing is permanent.
 */
export function asDryRun(question: string): string {
  const rest = question.replace(/^Permanently (\w)/, (_all, first: string) => first.toLowerCase()).replace(" This cannot be undone.", "");
  return `DRY RUN (VCC_DRY_RUN=true): nothing will be deleted, only recorded as what would have been. Rehearse: ${rest}`;
}

/** "the job was not resumed" → "The job was not resumed". */
export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
