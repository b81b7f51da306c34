// The audit log file: lines after a rotation (the file renamed or removed) go to a new file at the
// configured path, never to the old file or nowhere.
import { spawnSync } from "node:child_process";
import { chmod, copyFile, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { fileAuditTrail } from "../../src/audit.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const CONTEXT = { dryRun: false, sandbox: false };
const record = (n: number) => ({
  event: "deletion" as const,
  tool: "delete_interaction_content",
  guid: `g${n}`,
  contentKey: "callRecording",
  outcome: "deleted",
});
const lines = async (path: string) =>
  (await readFile(path, "utf8"))
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l).guid as string);

describe("the audit log file", () => {
  it("after it was renamed (rotation), the next line goes to a new file at the path, private as before", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vcc-audit-"));
    dirs.push(dir);
    const path = join(dir, "audit.jsonl");
    const trail = fileAuditTrail(path);
    await trail.write(record(1), CONTEXT);
    await rename(path, `${path}.1`);
    await trail.write(record(2), CONTEXT);
    expect(await lines(`${path}.1`)).toEqual(["g1"]);
    expect(await lines(path)).toEqual(["g2"]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("after it was removed, the next line is written to the path again, not into the removed file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vcc-audit-"));
    dirs.push(dir);
    const path = join(dir, "audit.jsonl");
    const trail = fileAuditTrail(path);
    await trail.write(record(1), CONTEXT);
    await rm(path);
    await trail.write(record(2), CONTEXT);
    expect(await lines(path)).toEqual(["g2"]);
  });

  it("a last line cut short by a crash is kept and ended: the next line is on its own and readable", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vcc-audit-"));
    dirs.push(dir);
    const path = join(dir, "audit.jsonl");
    const torn = '{"time":"2026-12-02T10:01:00.000Z","event":"deletion","guid":"g1","outc';
    await writeFile(path, `{"guid":"g0"}\n${torn}`);
    const trail = fileAuditTrail(path);
    await trail.write(record(2), CONTEXT);
    await trail.write(record(3), CONTEXT);
    const text = (await readFile(path, "utf8")).split("\n");
    expect(text.slice(0, 2)).toEqual(['{"guid":"g0"}', torn]);
    expect(text.slice(2, 4).map((l) => JSON.parse(l).guid)).toEqual(["g2", "g3"]);
    expect(text.slice(4)).toEqual([""]);
    // A file that ends with a whole line gets no empty line.
    const whole = join(dir, "whole.jsonl");
    await writeFile(whole, '{"guid":"g0"}\n');
    await fileAuditTrail(whole).write(record(1), CONTEXT);
    expect(await lines(whole)).toEqual(["g0", "g1"]);
  });

  it("a log the server may write but not read (mode 0222) takes its lines", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vcc-audit-"));
    dirs.push(dir);
    const path = join(dir, "audit.jsonl");
    await writeFile(path, '{"guid":"g0"}\n');
    await chmod(path, 0o222);
    if (process.getuid?.() === 0) {
      // root reads any file: the writer runs as nobody (the built module, as the server would),
      // from a copy it can reach (the clone's own directory may be private).
      await chmod(dir, 0o755);
      for (const file of ["audit.js", "log.js"]) await copyFile(resolve("dist", file), join(dir, file));
      await writeFile(join(dir, "package.json"), '{ "type": "module" }\n');
      const audit = pathToFileURL(join(dir, "audit.js")).href;
      const script = `const { fileAuditTrail } = await import(${JSON.stringify(audit)}); const t = fileAuditTrail(${JSON.stringify(path)}); for (const n of [1, 2]) await t.write({ event: "deletion", tool: "t", guid: "g" + n, contentKey: "k", outcome: "deleted" }, { dryRun: false, sandbox: false });`;
      const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { uid: 65534, gid: 65534, encoding: "utf8" });
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
    } else {
      const trail = fileAuditTrail(path);
      for (const n of [1, 2]) await trail.write(record(n), CONTEXT);
    }
    await chmod(path, 0o600);
    expect(await lines(path)).toEqual(["g0", "g1", "g2"]);
  });
});
