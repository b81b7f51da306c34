// Administrators' limits on what may be deleted (VCC_ALLOWED_CONTENT_KEYS).
import type { Config } from "../config.js";
import type { ToolError } from "../core/errors.js";
import { namedKeyOf } from "../vcc/ids.js";

/**
 * Undefined when the item may be deleted; otherwise a not_allowed error. `type` is the item's type
 * from the interaction's listing, when it could be read. An item whose kind cannot be established
 * is refused: the allowlist must never be bypassed by a failed lookup.
 */
export function checkAllowed(
  controls: Pick<Config["controls"], "allowedContentKeys">,
  contentKey: string,
  type: string | undefined,
): ToolError | undefined {
  const allowed = controls.allowedContentKeys;
  if (!allowed) return undefined;
  const named = namedKeyOf(contentKey);
  const kinds = [named, type].filter((k): k is string => Boolean(k)).map((k) => k.toLowerCase());
  if (kinds.some((k) => allowed.includes(k))) return undefined;
  const what =
    kinds.length > 0
      ? `'${contentKey}' (${[...new Set(kinds)].join(", ")})`
      : `'${contentKey}', whose kind could not be established (the interaction's listing was not available)`;
  return {
    code: "not_allowed",
    message: `This server only deletes ${allowed.join(", ")} (VCC_ALLOWED_CONTENT_KEYS). ${what} is not among them, so nothing was deleted and no confirmation was asked. Tell the user; an administrator can change the setting.`,
  };
}
