// Generators for property-based tests, and an oracle for the input rules written from the API
// documentation (shared/api/interaction-content-api.md), independently of src/vcc/ids.ts.
import fc from "fast-check";

const HEX = "0123456789abcdefABCDEF";
const KEY_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!-_.,*'()";
/** Characters a URL path segment may carry as they are (RFC 3986 unreserved, less "~" which keys cannot hold). */
const UNRESERVED = /[0-9A-Za-z\-_.]/;

/** The documented rule: a UUID string of exactly 36 characters, 8-4-4-4-12 hexadecimal digits. */
export function isGuidByDocs(value: unknown): value is string {
  if (typeof value !== "string" || value.length !== 36) return false;
  return [...value].every((c, i) => ([8, 13, 18, 23].includes(i) ? c === "-" : HEX.includes(c)));
}

/** The documented rule: 1-36 characters of 0-9 a-z A-Z ! - _ . , * ' ( ); and never "." or "..", which URL normalisation would remove. */
export function isContentKeyByDocs(value: unknown): value is string {
  if (typeof value !== "string" || value.length < 1 || value.length > 36) return false;
  return [...value].every((c) => KEY_CHARS.includes(c)) && value !== "." && value !== "..";
}

/** The percent-encoding the path must carry: unreserved characters as they are, every other one as %XX. */
export function encodeByHand(segment: string): string {
  return [...segment]
    .map((c) => (UNRESERVED.test(c) ? c : `%${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(2, "0")}`))
    .join("");
}

const hexChar = fc.constantFrom(...HEX);
const hexString = (n: number) => fc.string({ unit: hexChar, minLength: n, maxLength: n });

export const validGuid = fc.tuple(hexString(8), hexString(4), hexString(4), hexString(4), hexString(12)).map((parts) => parts.join("-"));

export const validContentKey = fc
  .oneof(
    fc.string({ unit: fc.constantFrom(...KEY_CHARS), minLength: 1, maxLength: 36 }),
    // Dots deserve attention: "." and ".." are the dangerous ones, their neighbours are valid.
    fc.constantFrom("...", ".a", "a.", "..a", "a..", ".-.", "callRecording", "CALLRECORDING", "voicemail-123"),
  )
  .filter((k) => k !== "." && k !== "..");

/** A string that is wrong in one place: one character replaced, one added, or one removed. */
function mutated(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(valid, fc.nat(), fc.string({ unit: "grapheme", minLength: 1, maxLength: 2 }), fc.nat(2)).map(([s, at, other, how]) => {
    const i = at % (s.length + 1);
    if (how === 0) return s.slice(0, i) + other + s.slice(i + 1);
    if (how === 1) return s.slice(0, i) + other + s.slice(i);
    return s.slice(0, i) + s.slice(i + 1);
  });
}

const nasty = fc.constantFrom(
  "",
  ".",
  "..",
  "%2e%2e",
  "%2E",
  "a/b",
  "..%2f",
  "a\\b",
  "a?b",
  "a#b",
  "a b",
  " callRecording",
  "callRecording\n",
  "ｃａｌｌ",
  "a~b",
  "\u0000",
  "x".repeat(37),
  "é",
  "😀",
);

/** A value for a field whose valid values `valid` makes: valid, nearly valid, or anything JSON can carry. */
function fieldLike(valid: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: valid },
    { weight: 2, arbitrary: mutated(valid) },
    { weight: 1, arbitrary: nasty },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
}

export const guidLike = fieldLike(validGuid);
export const contentKeyLike = fieldLike(validContentKey);

export const validPair = fc.record({ guid: validGuid, contentKey: validContentKey });

/** Arguments for delete_interaction_content: mostly the two fields, sometimes missing ones, extra ones, or anything. */
export const deleteArguments: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 4, arbitrary: validPair },
  { weight: 6, arbitrary: fc.record({ guid: guidLike, contentKey: contentKeyLike }) },
  { weight: 1, arbitrary: fc.record({ guid: guidLike, contentKey: contentKeyLike }, { requiredKeys: [] }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.record({ guid: guidLike, contentKey: contentKeyLike }),
        fc.string({ minLength: 1, maxLength: 12 }),
        fc.jsonValue({ maxDepth: 1 }),
      )
      .map(([args, key, value]) => ({ ...args, [key]: value })),
  },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) },
);

/** Whether delete_interaction_content must accept these arguments (and so may send requests). */
export function deleteArgumentsValid(args: Record<string, unknown>): boolean {
  // A "__proto__" key never reaches a tool: the SDK's parsing of tools/call (a zod record, over stdio
  // after JSON.parse alike) assigns it, which sets the prototype of its copy instead of adding a key.
  const keys = Object.keys(args)
    .filter((key) => key !== "__proto__")
    .sort();
  return (
    keys.length === 2 && keys[0] === "contentKey" && keys[1] === "guid" && isGuidByDocs(args.guid) && isContentKeyByDocs(args.contentKey)
  );
}
