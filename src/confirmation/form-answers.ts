// Checks a person's answer to a form prompt against the form this server sent: the SDK checks every
// accepted answer with the server's jsonSchemaValidator before the server sees it. The forms are this
// server's own, and flat as MCP's elicitation requires (an object of primitive properties), so a
// checker of exactly that is enough, and no general JSON Schema library is shipped for it (Ajv was
// a tenth of the package). A form with anything else is refused, never half-checked; and whatever
// passes here, the confirmer still reads the answer itself (a ticked box, the typed number).
import type {
  JsonSchemaType,
  JsonSchemaValidator,
  JsonSchemaValidatorResult,
  jsonSchemaValidator,
} from "@modelcontextprotocol/sdk/validation/types.js";

/** What a form may say of itself, and of each of its fields. */
const FORM_KEYWORDS: ReadonlySet<string> = new Set(["type", "properties", "required", "$schema", "title", "description"]);
const FIELD_KEYWORDS: ReadonlySet<string> = new Set(["type", "title", "description", "default", "minLength", "maxLength"]);
const FIELD_TYPES: ReadonlySet<string> = new Set(["string", "boolean", "number", "integer"]);

type Field = { type: string; minLength?: number; maxLength?: number };

/** The fields of a form this checker understands; throws for any other schema. */
function fieldsOf(schema: JsonSchemaType): { fields: Map<string, Field>; required: string[] } {
  const form = schema as Record<string, unknown>;
  const unknown = Object.keys(form).filter((key) => !FORM_KEYWORDS.has(key));
  if (form.type !== "object" || unknown.length > 0) throw new Error(`not a flat form schema (${unknown.join(", ") || "type"})`);
  const fields = new Map<string, Field>();
  for (const [name, raw] of Object.entries((form.properties ?? {}) as Record<string, Record<string, unknown>>)) {
    const extra = Object.keys(raw).filter((key) => !FIELD_KEYWORDS.has(key));
    if (typeof raw.type !== "string" || !FIELD_TYPES.has(raw.type) || extra.length > 0)
      throw new Error(`field '${name}' is not a plain string, number or boolean`);
    fields.set(name, raw as Field);
  }
  const required = Array.isArray(form.required) ? form.required.map(String) : [];
  return { fields, required };
}

/** Why `value` is not what `field` asks for, or undefined when it is. */
function fieldProblem(name: string, field: Field, value: unknown): string | undefined {
  const typed =
    field.type === "integer"
      ? Number.isInteger(value)
      : field.type === "number"
        ? typeof value === "number" && Number.isFinite(value)
        : typeof value === field.type;
  if (!typed) return `${name} must be a ${field.type}`;
  if (typeof value === "string") {
    if (field.minLength !== undefined && value.length < field.minLength) return `${name} is shorter than ${field.minLength}`;
    if (field.maxLength !== undefined && value.length > field.maxLength) return `${name} is longer than ${field.maxLength}`;
  }
  return undefined;
}

export const formAnswers: jsonSchemaValidator = {
  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    const { fields, required } = fieldsOf(schema);
    return (input: unknown): JsonSchemaValidatorResult<T> => {
      const refuse = (errorMessage: string): JsonSchemaValidatorResult<T> => ({ valid: false, data: undefined, errorMessage });
      if (typeof input !== "object" || input === null || Array.isArray(input)) return refuse("the answer is not an object");
      const answer = input as Record<string, unknown>;
      for (const name of required) if (!Object.hasOwn(answer, name)) return refuse(`${name} is required`);
      for (const [name, field] of fields) {
        if (!Object.hasOwn(answer, name)) continue;
        const problem = fieldProblem(name, field, answer[name]);
        if (problem) return refuse(problem);
      }
      return { valid: true, data: input as T, errorMessage: undefined };
    };
  },
};
