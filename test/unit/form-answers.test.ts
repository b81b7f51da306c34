// The checker of the answers to this server's form prompts (the SDK runs it on every accepted answer):
// exactly the flat forms the server sends, refused outright for any other schema.
import { describe, expect, it } from "vitest";
import { formAnswers } from "../../src/confirmation/form-answers.js";

const CHECKBOX = {
  type: "object",
  properties: { confirm: { type: "boolean", title: "Delete permanently", default: false } },
  required: ["confirm"],
};
const TYPED = { type: "object", properties: { count: { type: "string", title: "Type 12", maxLength: 20 } }, required: ["count"] };

describe("answers to the server's forms", () => {
  it("accepts what the form asks for, and only that", () => {
    const box = formAnswers.getValidator(CHECKBOX);
    expect(box({ confirm: true })).toMatchObject({ valid: true, data: { confirm: true } });
    expect(box({ confirm: false }).valid).toBe(true);
    for (const wrong of [{}, { confirm: "true" }, { confirm: 1 }, null, [true], "yes"])
      expect(box(wrong).valid, JSON.stringify(wrong)).toBe(false);
    const typed = formAnswers.getValidator(TYPED);
    expect(typed({ count: "12" }).valid).toBe(true);
    expect(typed({ count: "1".repeat(21) })).toMatchObject({ valid: false, errorMessage: "count is longer than 20" });
    expect(typed({ count: 12 })).toMatchObject({ valid: false, errorMessage: "count must be a string" });
    expect(typed({})).toMatchObject({ valid: false, errorMessage: "count is required" });
  });

  it("numbers and integers, and optional fields only when given", () => {
    const form = { type: "object", properties: { n: { type: "number" }, i: { type: "integer" } } };
    const check = formAnswers.getValidator(form);
    expect(check({}).valid).toBe(true);
    expect(check({ n: 1.5, i: 2 }).valid).toBe(true);
    expect(check({ i: 2.5 }).valid).toBe(false);
    expect(check({ n: Number.NaN }).valid).toBe(false);
  });

  it("refuses any schema that is not a flat form of plain fields, rather than half-checking it", () => {
    for (const schema of [
      { type: "array" },
      { type: "object", properties: { a: { type: "object" } } },
      { type: "object", properties: { a: { type: "string", pattern: "^x" } } },
      { type: "object", properties: { a: { type: "string", enum: ["x"] } } },
      { type: "object", properties: {}, additionalProperties: false },
    ])
      expect(() => formAnswers.getValidator(schema as never), JSON.stringify(schema)).toThrow();
  });
});
