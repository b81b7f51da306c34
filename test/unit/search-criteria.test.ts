// Checking and normalising search criteria, and splitting the range into 7-day windows.
import { describe, expect, it } from "vitest";
import { parseInstant } from "../../src/core/time.js";
import {
  criteriaInWords,
  criteriaKey,
  describeCriteria,
  describeRewritten,
  normaliseCriteria,
  rewrittenAddresses,
  type SearchInput,
  storedAddress,
} from "../../src/search/criteria.js";
import { splitWindows, WINDOW_MS } from "../../src/search/windows.js";

const NOW = Date.parse("2026-12-02T12:00:00Z");
const DAY = 86_400_000;
const base: SearchInput = { from: "2026-01-01", to: "2026-02-01", party: ["+441632960101"] };
const ok = (input: Partial<SearchInput>) => {
  const r = normaliseCriteria({ ...base, ...input }, NOW);
  if (!r.ok) throw new Error(r.error.message);
  return r.criteria;
};
const refused = (input: Partial<SearchInput>) => {
  const r = normaliseCriteria({ ...base, ...input } as SearchInput, NOW);
  if (r.ok) throw new Error(`accepted ${JSON.stringify(input)}`);
  expect(r.error.code).toBe("invalid_input");
  expect(r.error.message).toMatch(/Nothing was searched/);
  return r.error.message;
};

describe("dates and date-times", () => {
  it("UTC when no offset; offsets are applied; a date alone is midnight UTC", () => {
    expect(parseInstant("2026-03-01")).toEqual({ ms: Date.parse("2026-03-01T00:00:00Z"), dateOnly: true });
    expect(parseInstant("2026-03-01T09:30")?.ms).toBe(Date.parse("2026-03-01T09:30:00Z"));
    expect(parseInstant("2026-03-01T09:30:15.250")?.ms).toBe(Date.parse("2026-03-01T09:30:15.250Z"));
    expect(parseInstant("2026-03-01T09:30:00+01:00")?.ms).toBe(Date.parse("2026-03-01T08:30:00Z"));
    expect(parseInstant("2026-03-01T09:30:00-0530")?.ms).toBe(Date.parse("2026-03-01T15:00:00Z"));
    expect(parseInstant("2026-03-01T09:30:00+05")?.ms).toBe(Date.parse("2026-03-01T04:30:00Z"));
    expect(parseInstant("2026-03-01T09:30:00z")?.ms).toBe(Date.parse("2026-03-01T09:30:00Z"));
  });

  it("refuses what is not a date: 31 February, hour 24, words, a bare year", () => {
    for (const text of ["2026-02-31", "2026-13-01", "2026-03-01T24:00", "yesterday", "2026", "2026-03-01T09:30+25:00", ""])
      expect(parseInstant(text), text).toBeUndefined();
    expect(refused({ from: "last year" })).toMatch(/from 'last year' is not an ISO 8601/);
    expect(refused({ to: "2026-02-30" })).toMatch(/to '2026-02-30'/);
  });

  it("a date as `to` covers that whole day; a date-time `to` is exclusive as given", () => {
    expect(ok({ to: "2026-02-01" }).to).toBe(Date.parse("2026-02-02T00:00:00Z"));
    expect(ok({ to: "2026-02-01T10:00:00+02:00" }).to).toBe(Date.parse("2026-02-01T08:00:00Z"));
  });
});

describe("range rules", () => {
  it("to must be after from", () => {
    expect(refused({ from: "2026-02-01T00:00:00Z", to: "2026-02-01T00:00:00Z" })).toMatch(/after from/);
    expect(refused({ from: "2026-02-02", to: "2026-02-01T12:00:00Z" })).toMatch(/after from/);
  });

  it("up to two years, not more", () => {
    expect(ok({ from: "2024-12-02", to: "2026-12-02" }).to - Date.parse("2024-12-02")).toBeGreaterThan(730 * DAY);
    expect(refused({ from: "2024-12-01", to: "2026-12-02" })).toMatch(/two years/);
    expect(refused({ from: "2024-12-02T00:00:00Z", to: "2026-12-02T00:00:00.001Z" })).toMatch(/two years/);
  });

  it("not more than a day in the future", () => {
    expect(ok({ from: "2026-11-01", to: "2026-12-03T11:00:00Z" }).to).toBe(Date.parse("2026-12-03T11:00:00Z"));
    expect(refused({ from: "2026-11-01", to: "2026-12-03T12:00:00.001Z" })).toMatch(/future/);
    expect(refused({ from: "2026-11-01", to: "2026-12-04" })).toMatch(/future/);
    // Tomorrow's date is today east of UTC: accepted, and searched to its end.
    expect(ok({ from: "2026-11-01", to: "2026-12-03" }).to).toBe(Date.parse("2026-12-04T00:00:00Z"));
  });
});

describe("who", () => {
  it("at least one of party, connectFrom, connectTo, handlingAgentId", () => {
    expect(refused({ party: undefined })).toMatch(/at least one of party/);
    expect(refused({ party: undefined, direction: "inbound", contentTypes: ["callRecording"] })).toMatch(/at least one/);
    expect(ok({ party: undefined, handlingAgentId: "67833" }).handlingAgentId).toBe("67833");
    expect(ok({ party: undefined, connectTo: "+441632960101" }).connectTo).toBe("+441632960101");
  });

  it("party: 1-5 addresses of 1-50 characters, trimmed and de-duplicated; not with connectFrom/connectTo", () => {
    expect(ok({ party: [" +441632960101 ", "01632960101", "+441632960101"] }).party).toEqual(["+441632960101", "01632960101"]);
    expect(refused({ party: [] })).toMatch(/1-5 addresses/);
    expect(refused({ party: ["1", "2", "3", "4", "5", "6"] })).toMatch(/1-5 addresses/);
    expect(refused({ party: ["x".repeat(51)] })).toMatch(/1-50 characters/);
    expect(refused({ party: ["   "] })).toMatch(/1-50 characters/);
    expect(refused({ connectFrom: "+44" })).toMatch(/not both/);
    expect(refused({ party: undefined, connectTo: "x".repeat(51) })).toMatch(/connectTo must be 1-50/);
  });

  it("criteriaKey: the same search gives the same key; any other criterion another one", () => {
    const key = criteriaKey(ok({}));
    expect(criteriaKey(ok({ party: [" +441632960101"] }))).toBe(key);
    expect(criteriaKey(ok({ to: "2026-02-02" }))).not.toBe(key);
    expect(criteriaKey(ok({ direction: "inbound" }))).not.toBe(key);
    expect(criteriaKey(ok({ contentTypes: ["voicemail"] }))).not.toBe(key);
    expect(criteriaKey(ok({ contentTypes: ["voicemail", "transcript"] }))).toBe(
      criteriaKey(ok({ contentTypes: ["transcript", "voicemail"] })),
    );
    // The same addresses in another order: the same search, searched side by side in the same order.
    const two = ok({ party: ["+441632960101", "01632960101"] });
    expect(criteriaKey(ok({ party: ["01632960101", "+441632960101"] }))).toBe(criteriaKey(two));
    expect(ok({ party: ["01632960101", "+441632960101"] }).party).toEqual(two.party);
  });

  it("a phone number as the API stores it: without spaces, dashes, dots, brackets or the (0) after a country code", () => {
    const typed: [string, string][] = [
      ["+44 1632 960101", "+441632960101"],
      ["+44 (0)1632 960-101", "+441632960101"],
      ["+44(0) 1632 960101", "+441632960101"],
      ["(01632) 960101", "01632960101"],
      ["1632.960.101", "1632960101"],
      ["+1 (555) 010-0199", "+15550100199"],
      // The (0) after a country code without the plus, or after 00.
      ["44 (0)20 7946 0000", "442079460000"],
      ["0044 (0)20 7946 0000", "00442079460000"],
      ["+44 (0) 1632", "+441632"],
      ["00 44 (0)1632 960101", "00441632960101"],
      // Dotted phone numbers, which are no IP addresses (a leading zero, a group over 255).
      ["044.668.18.00", "0446681800"],
      ["02.123.45.67", "021234567"],
      ["030.123.456.78", "03012345678"],
    ];
    for (const [given, stored] of typed) {
      expect(storedAddress(given), given).toBe(stored);
      expect(ok({ party: [given] }).party, given).toEqual([stored]);
      expect(ok({ party: undefined, connectFrom: given }).connectFrom, given).toBe(stored);
    }
    // Anything else is left as given: emails, chat handles, words, an agent's id.
    for (const other of [
      "jane.doe@example.com",
      "j-doe (chat)",
      "sip:+44 1632 960101@example.com",
      "ext. 12",
      "+",
      "( )",
      // Not phone numbers, though made of digits and separators: never a broader or another address.
      "10.0.0.1",
      "192.168.1.20",
      "1.5",
      "(0)",
      "+1 (0)",
      "44 16",
    ])
      expect(storedAddress(other), other).toBe(other);
    expect(ok({ party: undefined, handlingAgentId: "678 33" }).handlingAgentId).toBe("678 33");
    // Two forms of one number are one address; the person is told which were rewritten.
    expect(ok({ party: ["+44 1632 960101", "+441632960101"] }).party).toEqual(["+441632960101"]);
    expect(rewrittenAddresses({ party: ["+44 1632 960101", "01632960101"] })).toEqual([
      { given: "+44 1632 960101", searched: "+441632960101" },
    ]);
    expect(describeRewritten({ connectTo: "0163 296 0101" })).toBe(
      "Phone numbers are stored without spaces, dashes, dots or brackets, so '0163 296 0101' was searched as 01632960101.",
    );
    expect(describeRewritten({ party: ["+441632960101"] })).toBe("");
  });
});

describe("7-day windows", () => {
  const t0 = Date.parse("2026-01-01T00:00:00Z");
  const check = (from: number, to: number) => {
    const windows = splitWindows(from, to);
    expect(windows[0]?.start).toBe(from);
    expect(windows.at(-1)?.end).toBe(to);
    windows.forEach((w, i) => {
      expect(w.end - w.start).toBeGreaterThan(0);
      expect(w.end - w.start).toBeLessThanOrEqual(WINDOW_MS);
      // No gap and no overlap: each window starts where the previous one ended.
      if (i > 0) expect(w.start).toBe(windows[i - 1]?.end);
    });
    return windows;
  };

  it("exactly 7 days is one window; a millisecond more is two", () => {
    expect(check(t0, t0 + WINDOW_MS)).toHaveLength(1);
    expect(check(t0, t0 + WINDOW_MS + 1)).toEqual([
      { start: t0, end: t0 + WINDOW_MS },
      { start: t0 + WINDOW_MS, end: t0 + WINDOW_MS + 1 },
    ]);
  });

  it("ranges that are not a multiple of 7 days end with a shorter window", () => {
    expect(check(t0, t0 + 10 * DAY).map((w) => (w.end - w.start) / DAY)).toEqual([7, 3]);
    expect(check(t0, t0 + 365 * DAY)).toHaveLength(53);
    expect(check(t0, t0 + 3_600_000)).toHaveLength(1);
  });

  it("a range given with an offset is split at the same instants as the same range in UTC", () => {
    const a = ok({ from: "2026-01-01T01:00:00+01:00", to: "2026-01-20T01:00:00+01:00" });
    const b = ok({ from: "2026-01-01T00:00:00Z", to: "2026-01-20T00:00:00Z" });
    expect(splitWindows(a.from, a.to)).toEqual(splitWindows(b.from, b.to));
    // Two years: 105 windows, none longer than 7 days.
    const long = ok({ from: "2024-12-02", to: "2026-12-02" });
    expect(check(long.from, long.to)).toHaveLength(105);
  });

  it("no windows for an empty or reversed range", () => {
    expect(splitWindows(t0, t0)).toEqual([]);
    expect(splitWindows(t0, t0 - 1)).toEqual([]);
  });
});

describe("criteria in words (what the person approving reads)", () => {
  it("a date range reads as whole days; a date-time end as not included", () => {
    const days = describeCriteria(
      ok({ from: "2026-05-01", to: "2026-11-30", party: ["+441632960101", "01632960101"], contentTypes: ["callRecording", "voicemail"] }),
    );
    expect(criteriaInWords(days)).toBe(
      "interactions with +441632960101 or 01632960101 on either side, that started between 2026-05-01 00:00 UTC and the end of 2026-11-30 (UTC); content types: call recording, voicemail",
    );
    const hours = describeCriteria(ok({ from: "2026-11-20T09:00", to: "2026-11-20T11:00+01:00", party: undefined, connectFrom: "+4416" }));
    expect(criteriaInWords({ ...hours, contentTypes: ["all"] })).toBe(
      "interactions initiated by an address starting with +4416, that started between 2026-11-20 09:00 UTC and 2026-11-20 10:00 UTC (not included); every content type",
    );
  });

  it("direction, the other side, the agent; an explicit list of items", () => {
    const c = describeCriteria(ok({ party: undefined, connectTo: "+441632960900", handlingAgentId: "1042", direction: "inbound" }));
    expect(criteriaInWords(c)).toBe(
      "inbound interactions received by an address starting with +441632960900, handled by agent 1042, that started between 2026-01-01 00:00 UTC and the end of 2026-02-01 (UTC)",
    );
    expect(criteriaInWords({ items: "explicit list" })).toBe("an explicit list of items");
  });
});
