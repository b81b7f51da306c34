// The registered passkeys on disk: owner-only, written whole, and a file that cannot be read is an
// error (never "no passkeys", which would change what the server asks for).
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPasskeyCommand } from "../../src/confirmation/passkey-cli.js";
import { PasskeyFileError, PasskeyStore, type StoredPasskey } from "../../src/confirmation/passkeys.js";

const passkey = (id: string): StoredPasskey => ({ id, publicKey: "pQECAyYgASFYIA", counter: 0, createdAt: "2026-12-02T10:00:00.000Z" });

function store(): PasskeyStore {
  return new PasskeyStore(join(mkdtempSync(join(tmpdir(), "vcc-passkeys-")), "data"));
}

describe("passkey store", () => {
  it("starts empty, adds owner-only, keeps one user handle", async () => {
    const s = store();
    expect(await s.list()).toEqual([]);
    const userId = await s.userId();
    await s.add(passkey("AAAAAAAAAAAA-one"));
    expect(statSync(s.dir).mode & 0o777).toBe(0o700);
    expect(statSync(s.path).mode & 0o777).toBe(0o600);
    const again = await s.userId();
    expect(again).not.toBe(userId); // the first handle was never saved
    expect(await s.userId()).toBe(again); // from now on it stays
    await expect(s.add(passkey("AAAAAAAAAAAA-one"))).rejects.toThrow(PasskeyFileError);
  });

  it("removes by id or a unique prefix of at least 8 characters, and refuses an ambiguous one", async () => {
    const s = store();
    await s.add(passkey("abcdefgh-first"));
    await s.add(passkey("abcdefgh-second"));
    await s.add(passkey("zzzzzzzz-third"));
    await expect(s.remove("abcdefgh")).rejects.toThrow(/matches 2 passkeys/);
    expect(await s.remove("zzzz")).toBeUndefined(); // too short to be a prefix
    expect((await s.remove("zzzzzzzz"))?.id).toBe("zzzzzzzz-third");
    expect((await s.remove("abcdefgh-second"))?.id).toBe("abcdefgh-second");
    expect((await s.list()).map((p) => p.id)).toEqual(["abcdefgh-first"]);
  });

  it("a damaged file is an error, not an empty list", async () => {
    const s = store();
    await s.add(passkey("abcdefgh-first"));
    writeFileSync(s.path, "{ not json");
    await expect(s.list()).rejects.toThrow(PasskeyFileError);
    writeFileSync(s.path, JSON.stringify({ version: 1, userId: "u", passkeys: [{ id: "x" }] }));
    await expect(s.list()).rejects.toThrow(PasskeyFileError);
  });

  it("`passkey list` and `passkey remove` print to the given output; bad use prints the usage", async () => {
    const s = store();
    await s.add(passkey("abcdefgh-first"));
    let out = "";
    let err = "";
    const io = {
      dataDir: s.dataDir,
      out: (t: string) => {
        out += t;
      },
      err: (t: string) => {
        err += t;
      },
    };
    expect(await runPasskeyCommand(["list"], io)).toBe(0);
    expect(out).toContain("abcdefgh-first  added 2026-12-02T10:00:00.000Z, never used");
    expect(await runPasskeyCommand(["remove", "nothere-at-all"], io)).toBe(1);
    expect(err).toContain("No registered passkey has the id 'nothere-at-all'");
    expect(await runPasskeyCommand(["remove", "abcdefgh-first"], io)).toBe(0);
    expect(out).toMatch(/Removed passkey abcdefgh-first\. No passkey is registered now/);
    expect(JSON.parse(readFileSync(s.path, "utf8")).passkeys).toEqual([]);
    expect(await runPasskeyCommand(["frobnicate"], io)).toBe(2);
    expect(err).toContain("Usage: vcc-interaction-content-mcp passkey add | list | remove <id>");
  });
});
