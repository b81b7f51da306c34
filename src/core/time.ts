// Instants from ISO 8601 texts, read one way: the dates a person gives as search criteria and the
// dates the API sends. A date-time without an offset is UTC (never the host's time zone, which
// Date.parse would use: a search run on a machine in New York would leave out an interaction the API
// returned, and say the search was complete).

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

/** An instant from an ISO 8601 date or date-time; a date alone is that day's 00:00 UTC, a date-time without an offset UTC. */
export function parseInstant(text: string): { ms: number; dateOnly: boolean } | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  const [year, month, day, hour = "0", minute = "0", second = "0"] = m.slice(1, 7);
  const fraction = m[7] ?? "";
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const base = Date.UTC(y, mo - 1, d, h, mi, s, Math.floor(Number(`0.${fraction || "0"}`) * 1000));
  // Date.UTC rolls 31 February over into March: such a date does not exist.
  if (new Date(base).getUTCDate() !== d) return undefined;
  let offsetMs = 0;
  if (m[9]) {
    const oh = Number(m[10]);
    const om = Number(m[11] ?? 0);
    if (oh > 23 || om > 59) return undefined;
    offsetMs = (m[9] === "-" ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  return { ms: base - offsetMs, dateOnly: m[4] === undefined };
}

/** The instant (ms) of a date-time the API sent; NaN when absent or unreadable (then it is unknown, never guessed). */
export function instantOf(text: string | undefined): number {
  return text === undefined ? Number.NaN : (parseInstant(text)?.ms ?? Number.NaN);
}
