import { describe, expect, it } from "vitest";
import { bindingOf, itemIdentity } from "../../src/deletion/binding.js";

const GUID = "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11";

describe("the binding of a token to its items", () => {
  it("compares GUIDs and named keys case-insensitively, as the API does, and item ids exactly", () => {
    expect(itemIdentity({ guid: GUID.toUpperCase(), contentKey: "CALLRECORDING" })).toBe(
      itemIdentity({ guid: GUID, contentKey: "callRecording" }),
    );
    expect(itemIdentity({ guid: GUID, contentKey: "Voicemail-123" })).not.toBe(itemIdentity({ guid: GUID, contentKey: "voicemail-123" }));
  });

  it("is the same set in any order, and differs for any other set", () => {
    const a = { guid: GUID, contentKey: "callRecording" };
    const b = { guid: GUID, contentKey: "transcript" };
    expect(bindingOf([a, b])).toBe(bindingOf([b, a]));
    expect(bindingOf([a])).not.toBe(bindingOf([a, b]));
    expect(bindingOf([a, a])).not.toBe(bindingOf([a]));
  });
});
