import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CARDS_AT_MOST, PAGE_CSP, PASSKEY_PAGE_CSP, renderApprovalPage } from "../../src/confirmation/approval-page.js";
import type { ApprovalPageView } from "../../src/confirmation/store.js";

const GUID = "5f1c9a2e-7b3d-4e8a-9c1f-2a6b8d0e4f11";
const now = new Date("2026-11-28T12:00:00.000Z");

function view(overrides: Partial<ApprovalPageView> = {}): ApprovalPageView {
  return {
    items: [{ guid: GUID, contentKey: "callRecording" }],
    state: "pending",
    expiresAt: new Date("2026-11-28T12:05:00.000Z"),
    formKey: "form-key-123",
    challenge: "challenge-456",
    ...overrides,
  };
}

describe("approval page HTML", () => {
  it("a pending page names the item, says it cannot be undone, and has one form with two buttons and no script", () => {
    const html = renderApprovalPage(view(), "/approve/abc", now);
    expect(html).toContain(GUID);
    expect(html).toContain("callRecording");
    expect(html).toMatch(/cannot be undone/i);
    expect(html).toContain('<form method="post" action="/approve/abc">');
    expect(html).toContain('<input type="hidden" name="formKey" value="form-key-123">');
    expect(html).toContain('name="decision" value="approve">Delete permanently</button>');
    expect(html).toContain('name="decision" value="reject">Cancel</button>');
    expect(html).toContain("No preview available");
    expect(html).toContain("2026-11-28 12:05 UTC (in about 5 minutes)");
    expect(html).toContain('name="viewport"');
    expect(html).not.toMatch(/<script|javascript:|\son[a-z]+=/i);
  });

  it("a long list: the first items as cards and every item, each once, in one table (unknown facts as unknown)", () => {
    const guid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
    const items = Array.from({ length: 2_500 }, (_, i) => ({
      guid: guid(i),
      contentKey: "callRecording",
      ...(i % 2 ? { preview: { type: "callRecording", contentLength: 2_048 } } : {}),
    }));
    const html = renderApprovalPage(view({ items }), "/approve/abc", now);
    expect(html).toContain("<h1>Delete these 2500 content files permanently?</h1>");
    expect(html.match(/<section class="card">/g)).toHaveLength(CARDS_AT_MOST);
    expect(html).toContain(`Show all 2,500 items (the ${CARDS_AT_MOST} above and 2,490 more)`);
    const rows = html.match(/<tr><td>\d+<\/td>[^\n]*<\/tr>/g) ?? [];
    expect(rows).toHaveLength(2_500);
    for (const i of [0, 9, 10, 1_234, 2_499]) expect(rows[i]).toContain(`<code>${guid(i)}</code>`);
    expect(rows[0]).toContain("<td>no preview</td>");
    // Present in the preview: type and size; left out by the API: the date, shown as unknown.
    expect(rows[1]).toContain("<td>call recording</td><td>2.0 kB</td><td>unknown</td>");
    expect(html).not.toMatch(/<script|javascript:|\son[a-z]+=/i);
  });

  it("up to CARDS_AT_MOST items: cards only, no table", () => {
    const items = Array.from({ length: CARDS_AT_MOST }, (_, i) => ({
      guid: `${GUID.slice(0, -2)}${String(i).padStart(2, "0")}`,
      contentKey: "callRecording",
    }));
    const html = renderApprovalPage(view({ items }), "/approve/abc", now);
    expect(html.match(/<section class="card">/g)).toHaveLength(CARDS_AT_MOST);
    expect(html).not.toContain("<table");
  });

  it("shows the preview where there is one", () => {
    const html = renderApprovalPage(
      view({
        items: [
          {
            guid: GUID,
            contentKey: "callRecording",
            preview: {
              type: "callRecording",
              contentType: "audio/wav",
              contentLength: 2_457_644,
              lastModified: "2026-11-23T09:21:40.000Z",
            },
          },
        ],
      }),
      "/approve/abc",
      now,
    );
    expect(html).toContain("call recording (audio/wav)");
    expect(html).toContain("2.5 MB (2,457,644 bytes)");
    expect(html).toContain("2026-11-23 09:21 UTC");
    expect(html).not.toContain("No preview available");
  });

  it("a dry-run page never says permanent, also with passkeys required", () => {
    for (const passkey of [undefined, { credentialIds: ["cred-1"] }]) {
      const html = renderApprovalPage(view({ dryRun: true }), "/approve/abc", now, passkey);
      expect(html).toContain("Rehearse deleting this content? (dry run)");
      expect(html).toContain('value="approve">Approve the dry run</button>');
      expect(html).not.toMatch(/Delete permanently|cannot be undone|gone for good/);
    }
  });

  it("escapes everything it shows", () => {
    const html = renderApprovalPage(
      view({ items: [{ guid: GUID, contentKey: "it's(*)", preview: { type: "<img src=x onerror=alert(1)>" } }] }),
      "/approve/abc",
      now,
    );
    expect(html).toContain("it&#39;s(*)");
    expect(html).not.toContain("<img");
    expect(html).toContain("&#60;img src=x onerror=alert(1)&#62;");
  });

  it("decided, withdrawn and expired pages have no form and say what happens next", () => {
    const pages = {
      approved: /Approved\. Return to your assistant/,
      rejected: /Nothing was deleted/,
      withdrawn: /no longer active/,
      expired: /expired/,
    } as const;
    for (const [state, text] of Object.entries(pages)) {
      const html = renderApprovalPage(view({ state: state as ApprovalPageView["state"] }), "/approve/abc", now);
      expect(html, state).toMatch(text);
      expect(html, state).not.toContain("<form");
      expect(html, state).not.toContain("form-key-123");
    }
  });

  it("the CSPs allow exactly the page's stylesheet and, with passkeys, its script; nothing else", () => {
    const html = renderApprovalPage(view(), "/approve/abc", now, { credentialIds: ["cred-1"] });
    const sha = (text: string) => createHash("sha256").update(text, "utf8").digest("base64");
    const css = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? "";
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? "";
    expect(script).not.toBe("");
    const common = [
      "default-src 'none'",
      `style-src 'sha256-${sha(css)}'`,
      "form-action 'self'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ];
    expect(PAGE_CSP.split("; ").sort()).toEqual(common.sort());
    expect(PASSKEY_PAGE_CSP.split("; ").sort()).toEqual([...common, `script-src 'sha256-${sha(script)}'`].sort());
  });

  it("with passkeys, the pending form carries the page's challenge and the registered ids, and says what happens without a script", () => {
    const html = renderApprovalPage(view(), "/approve/abc", now, { credentialIds: ["cred-1", "cred-2"] });
    const data = /data-passkey="([^"]*)"/.exec(html)?.[1] ?? "";
    expect(JSON.parse(data.replace(/&#34;/g, '"'))).toEqual({ approve: { challenge: "challenge-456", ids: ["cred-1", "cred-2"] } });
    expect(html).toContain('name="decision" value="reject">Cancel</button>');
    expect(html).toMatch(/<noscript>.*Cancel works without it/);
    // No inline handlers: the one script is allowed by its hash, nothing else runs.
    expect(html).not.toMatch(/javascript:|\son[a-z]+=/i);
    for (const state of ["approved", "rejected", "expired"] as const)
      expect(renderApprovalPage(view({ state }), "/approve/abc", now, { credentialIds: ["cred-1"] })).not.toContain("<script");
  });
});
