// What a confirmation token is bound to: exactly a set of content items, compared as the API
// compares them. The one normalisation every deletion path uses.
import type { ContentRef } from "../core/content.js";
import { namedKeyOf } from "../vcc/ids.js";

/**
 * One item as the API identifies it: the GUID lower-cased, a named key (callRecording, …) in its
 * canonical spelling since the API matches those case-insensitively; an item id exactly as given.
 */
export function itemIdentity(ref: ContentRef): string {
  return `${ref.guid.toLowerCase()}:${namedKeyOf(ref.contentKey) ?? ref.contentKey}`;
}

/** The binding of a token to a set of items, in any order. */
export function bindingOf(items: readonly ContentRef[]): string {
  return `delete:${items.map(itemIdentity).sort().join("|")}`;
}
