// scripts/docs.mjs: the tables generated from the code, and the link check `npm run lint` runs.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { anchors, brokenLinks, firstSentence, regenerate } from "../../scripts/docs.mjs";

const sources = {
  TOOLS: [
    {
      name: "look",
      title: "Look",
      description: "Looks at things (e.g. a call). Read-only.\n\nGuidance for the model.",
      annotations: { readOnlyHint: true, idempotentHint: true },
      destructive: false,
    },
    {
      name: "erase",
      title: "Erase | for good",
      description: "Erases one thing.",
      annotations: { destructiveHint: true },
      destructive: true,
    },
  ],
  ERROR_CODES: { not_found: "Nothing there.", busy: "Try later.", refused: "Refused (VCC_CONFIRMATION=elicitation) for <reasons>." },
  configReference: () => [
    {
      name: "VCC_PORT",
      group: "http",
      path: "http.port",
      description: "The port; see VCC_HOST.",
      default: "3333",
      secret: false,
      flag: "--port",
    },
    { name: "VCC_KEY", group: "api", path: "api.key", description: "Send Authorization: Bearer <key>.", secret: true },
    { name: "VCC_BASE", group: "api", path: "api.base", description: "Base URL.", defaultNote: "from the region", secret: false },
  ],
  REGIONS: { emea: { apiBaseUrl: "https://api.example/emea", authUrl: "https://auth.example/emea" } },
};

describe("generated regions", () => {
  it("rewrites what is between the markers from the sources, and only that", () => {
    const text = "before\n<!-- generated:tools -->\nstale table\n<!-- /generated:tools -->\nafter\n";
    const next = regenerate(text, sources);
    expect(next.startsWith("before\n<!-- generated:tools -->\n")).toBe(true);
    expect(next.endsWith("<!-- /generated:tools -->\nafter\n")).toBe(true);
    expect(next).not.toContain("stale table");
    expect(next).toMatch(/\| `look` +\| Look +\| Looks at things \(e\.g\. a call\)\. +\| read-only, idempotent, open world +\|/);
    expect(next).toContain("Erase \\| for good");
    expect(next).toContain("destructive, open world; not offered when read-only");
    expect(next).not.toContain("Guidance for the model");
    // Up to date: regenerating changes nothing.
    expect(regenerate(next, sources)).toBe(next);
  });

  it("lists every error code with its meaning", () => {
    const next = regenerate("<!-- generated:errors -->\n<!-- /generated:errors -->\n", sources);
    expect(next).toMatch(/\| `not_found` +\| Nothing there\. +\|/);
    expect(next).toMatch(/\| `busy` +\| Try later\. +\|/);
  });

  it("writes names of variables as code and keeps <placeholders> visible", () => {
    const next = regenerate("<!-- generated:errors -->\n<!-- /generated:errors -->\n", sources);
    expect(next).toContain("Refused (`VCC_CONFIRMATION=elicitation`) for &lt;reasons&gt;.");
  });

  it("lists every variable with its flag, default and description, and marks secrets", () => {
    const next = regenerate("<!-- generated:config -->\n<!-- /generated:config -->\n", sources);
    expect(next).toMatch(/\| `VCC_PORT` \(`--port`\) +\| http +\| `3333` +\| The port; see `VCC_HOST`\. +\|/);
    expect(next).toMatch(/\| `VCC_KEY` · secret +\| api +\| — +\| Send Authorization: Bearer &lt;key&gt;\. +\|/);
    expect(next).toMatch(/\| `VCC_BASE` +\| api +\| from the region +\| Base URL\. +\|/);
  });

  it("refuses a region it does not know", () => {
    expect(() => regenerate("<!-- generated:nope -->\n<!-- /generated:nope -->", sources)).toThrow(/unknown generated region "nope"/);
  });

  it("takes the first sentence of the first paragraph", () => {
    expect(firstSentence("Delete ONE file (a call recording, ...). Cannot be undone.\n\nMore.")).toBe(
      "Delete ONE file (a call recording, ...).",
    );
    expect(firstSentence("No full stop")).toBe("No full stop");
  });
});

describe("link check", () => {
  it("knows GitHub's heading anchors", () => {
    const found = anchors(
      "# Title\n## The approval page (`VCC_CONFIRMATION=approval`)\n## Over HTTP\n## Over HTTP\n```\n# not a heading\n```\n",
    );
    expect([...found]).toEqual(["title", "the-approval-page-vcc_confirmationapproval", "over-http", "over-http-1"]);
  });

  it("reports links to missing files and headings, not external links or code", () => {
    const dir = mkdtempSync(join(tmpdir(), "docs-links-"));
    writeFileSync(join(dir, "other.md"), "# Other\n## Part two\n");
    const file = join(dir, "page.md");
    writeFileSync(
      file,
      "# Page\n[ok](other.md#part-two) [self](#page) [web](https://example.com/x.md)\n" +
        "[gone](missing.md) [bad anchor](other.md#part-three) [bad self](#nope) `[code](x.md)`\n```\n[fenced](y.md)\n```\n",
    );
    expect(brokenLinks(file)).toEqual(["missing.md", "other.md#part-three", "#nope"]);
  });
});
