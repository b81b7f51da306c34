import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineLimit } from "../../src/line-limit.js";

/** Feeds `chunks` through a LineLimit and returns what came out, and the sizes of the lines it cut. */
async function through(max: number, chunks: Buffer[]): Promise<{ out: string; raw: Buffer; cut: number[] }> {
  const cut: number[] = [];
  const limit = new LineLimit(max, (bytes) => cut.push(bytes));
  const parts: Buffer[] = [];
  limit.on("data", (d: Buffer) => parts.push(Buffer.from(d)));
  const done = new Promise((resolve) => limit.on("end", resolve));
  for (const c of chunks) limit.write(c);
  limit.end();
  await done;
  const raw = Buffer.concat(parts);
  return { out: raw.toString("utf8"), raw, cut };
}

describe("LineLimit", () => {
  it("passes lines within the limit unchanged, however they are split", async () => {
    const text = '{"a":1}\n{"b":"xyz"}\n\npartial';
    expect(await through(20, [Buffer.from(text)])).toMatchObject({ out: text, cut: [] });
    expect(
      await through(
        20,
        [...Buffer.from(text)].map((b) => Buffer.from([b])),
      ),
    ).toMatchObject({ out: text, cut: [] });
  });

  it("cuts a line over the limit short and keeps the following lines", async () => {
    const { out, cut } = await through(10, [Buffer.from(`${"x".repeat(25)}\nok\n`)]);
    expect(out).toBe(`${"x".repeat(10)}\nok\n`);
    expect(cut).toEqual([25]);
  });

  it("cuts across chunks", async () => {
    const { out, cut } = await through(10, [Buffer.from("x".repeat(8)), Buffer.from("y".repeat(8)), Buffer.from("zz\nok\n")]);
    expect(out).toBe(`${"x".repeat(8)}yy\nok\n`);
    expect(cut).toEqual([18]);
  });

  it("property: lines within the limit pass intact, longer ones become their first `limit` bytes, however chunked", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: fc.constantFrom("a", "b", "{", "}", "é"), maxLength: 40 }), { maxLength: 8 }),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 5 }),
        async (lines, max, sizes) => {
          const input = Buffer.from(lines.map((l) => `${l}\n`).join(""));
          const chunks: Buffer[] = [];
          for (let i = 0, k = 0; i < input.length; k++) {
            const size = sizes[k % sizes.length] ?? 1;
            chunks.push(input.subarray(i, i + size));
            i += size;
          }
          const { raw } = await through(max, chunks);
          const expected = Buffer.concat(lines.map((l) => Buffer.concat([Buffer.from(l).subarray(0, max), Buffer.from("\n")])));
          expect(raw.equals(expected)).toBe(true);
        },
      ),
    );
  });
});
