// The HTML of the loopback approval page: plain forms, one inline stylesheet allowed by its hash in the
// Content-Security-Policy, and (passkey approvals and enrolment only) one small inline script, also
// allowed by its hash, that asks the browser for a passkey. Without the script the page still shows
// everything and Cancel still works. Pure functions, so the wording is easy to test.
import { createHash } from "node:crypto";
import { formatBytes, formatDate, humanType } from "../core/format.js";
import { describeIdentity, type Identity } from "../core/identity.js";
import type { ConfirmationItem } from "./confirmer.js";
import type { ApprovalPageView } from "./store.js";

const CSS = `
:root{color-scheme:light;--ink:#1d1d1f;--muted:#5b5b66;--line:#d9d9e0;--bg:#f5f5f7;--danger:#b3261e;--danger-ink:#fff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:40rem;margin:0 auto;padding:1.25rem 1rem 2rem}
.eyebrow{margin:0 0 .25rem;color:var(--muted);font-size:.875rem}
h1{margin:0 0 .75rem;font-size:1.5rem;line-height:1.25}
.card{background:#fff;border:1px solid var(--line);border-radius:.75rem;padding:1rem;margin:1rem 0}
dl{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
code{font:.95em/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.note{margin:.75rem 0 0;color:var(--muted)}
.warning{border-left:.3rem solid var(--danger);background:#fdecea;padding:.75rem 1rem;border-radius:.25rem}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin:1.25rem 0}
button{flex:1 1 12rem;min-height:3rem;padding:.75rem 1rem;border-radius:.5rem;font:inherit;font-weight:600;cursor:pointer}
.danger{background:var(--danger);color:var(--danger-ink);border:1px solid var(--danger)}
.primary{background:#0b57d0;color:#fff;border:1px solid #0b57d0}
.secondary{background:#fff;color:var(--ink);border:1px solid #8e8e99}
button:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.small{color:var(--muted);font-size:.875rem}
details.card summary{cursor:pointer;font-weight:600}
table{border-collapse:collapse;width:100%;margin-top:.75rem;font-size:.875rem}
th,td{text-align:left;padding:.3rem .5rem .3rem 0;border-top:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{color:var(--muted);font-weight:600}
@media (max-width:30rem){dl{grid-template-columns:1fr;gap:0}dd{margin-bottom:.5rem}h1{font-size:1.3rem}code{font-size:.85em}}
`.trim();

/**
 * The passkey script, the same on every page that has one. On the approval page it runs only for
 * "Delete permanently": it asks for an assertion of one of the registered passkeys over the page's
 * challenge, with user verification, and sends it with the form. On the enrolment page it first
 * proves an existing passkey (if any), then creates the new one. It never decides anything itself:
 * the server checks every answer. Written for the browsers people use, without libraries.
 */
export const PAGE_SCRIPT = `(() => {
const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const text = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/[+]/g, "-").replace(/[/]/g, "_").replace(/=+$/, "");
const allow = (ids) => ids.map((id) => ({ type: "public-key", id: bytes(id) }));
const assertion = async (challenge, ids) => {
  const c = await navigator.credentials.get({ publicKey: { challenge: bytes(challenge), rpId: "localhost", userVerification: "required", timeout: 120000, allowCredentials: allow(ids) } });
  const r = c.response;
  return JSON.stringify({ id: c.id, rawId: text(c.rawId), type: c.type, clientExtensionResults: {}, response: { clientDataJSON: text(r.clientDataJSON), authenticatorData: text(r.authenticatorData), signature: text(r.signature), ...(r.userHandle ? { userHandle: text(r.userHandle) } : {}) } });
};
const form = document.querySelector("form[data-passkey]");
const status = document.getElementById("passkey-status");
if (!form || !status) return;
if (!window.PublicKeyCredential) { status.textContent = "This browser cannot use passkeys. Open the link in a current browser."; return; }
const send = (fields) => {
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement("input");
    input.type = "hidden"; input.name = name; input.value = value; form.append(input);
  }
  HTMLFormElement.prototype.submit.call(form);
};
form.addEventListener("submit", async (event) => {
  const o = JSON.parse(form.dataset.passkey);
  if (o.approve && (!event.submitter || event.submitter.value !== "approve")) return;
  event.preventDefault();
  try {
    if (o.approve) {
      status.textContent = "Confirm with your passkey to delete.";
      return send({ decision: "approve", assertion: await assertion(o.approve.challenge, o.approve.ids) });
    }
    const fields = {};
    if (o.prove) { status.textContent = "First confirm with a passkey you already registered."; fields.assertion = await assertion(o.prove.challenge, o.prove.ids); }
    status.textContent = "Now create the new passkey.";
    const r = o.register;
    const c = await navigator.credentials.create({ publicKey: { ...r, challenge: bytes(r.challenge), user: { ...r.user, id: bytes(r.user.id) }, excludeCredentials: (r.excludeCredentials || []).map((x) => ({ ...x, id: bytes(x.id) })) } });
    fields.registration = JSON.stringify({ id: c.id, rawId: text(c.rawId), type: c.type, clientExtensionResults: {}, response: { clientDataJSON: text(c.response.clientDataJSON), attestationObject: text(c.response.attestationObject), transports: c.response.getTransports ? c.response.getTransports() : [] } });
    send(fields);
  } catch (error) {
    status.textContent = "The passkey check did not complete (" + (error && error.name ? error.name : "error") + "). Nothing was changed. Try again" + (o.approve ? ", or Cancel." : ".");
  }
});
})();`;

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("base64");

function csp(scriptSources: string[]): string {
  return [
    "default-src 'none'",
    `style-src 'sha256-${sha256(CSS)}'`,
    ...scriptSources,
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** The approval page's Content-Security-Policy: nothing but the one stylesheet, forms only to this server, no framing. */
export const PAGE_CSP = csp([]);

/** The same, plus the one passkey script (by its hash): passkey approval and enrolment pages. */
export const PASSKEY_PAGE_CSP = csp([`script-src 'sha256-${sha256(PAGE_SCRIPT)}'`]);

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function itemCard(item: ConfirmationItem): string {
  const rows: [string, string][] = [
    ["Interaction", `<code>${escapeHtml(item.guid)}</code>`],
    ["Content key", `<code>${escapeHtml(item.contentKey)}</code>`],
  ];
  const preview = item.preview;
  if (preview) {
    // What the API left out is shown as unknown, never as a guess.
    const type = preview.type ? humanType(preview.type) : "unknown";
    rows.push(["Type", escapeHtml(`${type} (${preview.contentType ?? "content type unknown"})`)]);
    rows.push([
      "Size",
      escapeHtml(
        preview.contentLength !== undefined
          ? `${formatBytes(preview.contentLength)} (${preview.contentLength.toLocaleString("en-US")} bytes)`
          : "unknown",
      ),
    ]);
    rows.push(["Last modified", escapeHtml(preview.lastModified ? formatDate(preview.lastModified) : "unknown")]);
  }
  const list = `<dl>${rows.map(([term, value]) => `<dt>${term}</dt><dd>${value}</dd>`).join("")}</dl>`;
  const note = preview
    ? ""
    : `<p class="note">No preview available: the server has no details of this content (type, size, date), so check the interaction and content key carefully.</p>`;
  return `<section class="card">${list}${note}</section>`;
}

/** Up to this many items are shown as cards; a longer list (a bulk request, an erasure) as one table. */
export const CARDS_AT_MOST = 10;

/** One row of the long list: the same facts as a card, "unknown" where the API left one out. */
function itemRow(item: ConfirmationItem, index: number): string {
  const preview = item.preview;
  const cells = [
    String(index + 1),
    `<code>${escapeHtml(item.guid)}</code>`,
    `<code>${escapeHtml(item.contentKey)}</code>`,
    escapeHtml(preview ? (preview.type ? humanType(preview.type) : "unknown") : "no preview"),
    escapeHtml(preview ? (preview.contentLength !== undefined ? formatBytes(preview.contentLength) : "unknown") : "no preview"),
    escapeHtml(preview ? (preview.lastModified ? formatDate(preview.lastModified) : "unknown") : "no preview"),
  ];
  return `<tr>${cells.map((cell) => `<td>${cell}</td>`).join("")}</tr>`;
}

/**
 * What the person is asked about: a card per item for a few, and for a long list the first few as
 * cards and every item (those first ones included) in one table behind "Show all", so that a page of
 * thousands of items stays readable and still lists each one.
 */
function itemsOf(items: readonly ConfirmationItem[]): string {
  if (items.length <= CARDS_AT_MOST) return items.map(itemCard).join("\n");
  const first = items.slice(0, CARDS_AT_MOST).map(itemCard).join("\n");
  const head = ["#", "Interaction", "Content key", "Type", "Size", "Last modified"].map((h) => `<th scope="col">${h}</th>`).join("");
  return `${first}
<details class="card" id="all-items"><summary>Show all ${items.length.toLocaleString("en-US")} items (the ${CARDS_AT_MOST} above and ${(items.length - CARDS_AT_MOST).toLocaleString("en-US")} more)</summary>
<table><thead><tr>${head}</tr></thead><tbody>
${items.map(itemRow).join("\n")}
</tbody></table></details>`;
}

/** A whole page: the shared head and stylesheet, `body`, and the passkey script where `script` is set. */
export function pageDocument(title: string, body: string, options: { eyebrow?: string; script?: boolean } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<p class="eyebrow">${escapeHtml(options.eyebrow ?? "Vonage Contact Center · deletion approval")}</p>
${body}
</main>${options.script ? `\n<script>${PAGE_SCRIPT}</script>` : ""}
</body>
</html>
`;
}

function minutesLeft(expiresAt: Date, now: Date): string {
  const minutes = Math.max(0, Math.round((expiresAt.getTime() - now.getTime()) / 60_000));
  if (minutes < 1) return "in less than a minute";
  return minutes === 1 ? "in about 1 minute" : `in about ${minutes} minutes`;
}

/** Under a form that needs a passkey: where the script reports, and what to do without it. */
const PASSKEY_NOTE = `
<p class="small" id="passkey-status" role="status" aria-live="polite">Approving asks for your passkey (fingerprint, face, PIN or security key).</p>
<noscript><p class="warning">Approving needs your passkey, which needs JavaScript in this browser. Cancel works without it.</p></noscript>`;

/** Team server: who is looking at the page, and what they may not do there. */
export interface PageViewer {
  /** Team server: who is signed in (absent when the page is not behind a sign-in). */
  approver?: Identity;
  /** Why this person may not approve (shown; the approve button is left out). */
  refusal?: string;
  /** False when they may not cancel either (the Cancel button is left out too). */
  mayCancel?: boolean;
}

function person(identity: Identity): string {
  const described = describeIdentity(identity);
  return described === identity.subject
    ? escapeHtml(described)
    : `${escapeHtml(described)} <span class="small">(${escapeHtml(identity.subject)})</span>`;
}

/** Who asked, who is signed in, and who decided: the people of a team server's page. */
function people(view: ApprovalPageView, viewer: PageViewer | undefined): string {
  const rows: [string, string][] = [];
  if (view.requester) rows.push(["Requested by", person(view.requester)]);
  if (view.approver) rows.push([view.state === "rejected" ? "Cancelled by" : "Approved by", person(view.approver)]);
  else if (viewer?.approver) rows.push(["You are signed in as", person(viewer.approver)]);
  if (rows.length === 0) return "";
  return `<section class="card"><dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl></section>`;
}

/**
 * The page for one approval, in whatever state it is. `action` is the page's own path. With
 * `passkey`, "Delete permanently" needs an assertion of one of `credentialIds` (the script asks for it).
 */
export function renderApprovalPage(
  view: ApprovalPageView,
  action: string,
  now: Date = new Date(),
  passkey?: { credentialIds: readonly string[] },
  viewer?: PageViewer,
): string {
  const summary = view.summary?.length
    ? `<div class="card"><ul>${view.summary.map((line) => `<li>${escapeHtml(line)}</li>`).join("")}</ul></div>\n`
    : "";
  const items = summary + itemsOf(view.items);
  const count = view.items.length === 1 ? "this content" : `these ${view.items.length} content files`;
  const who = people(view, viewer);
  switch (view.state) {
    case "pending":
      return pageDocument(
        view.dryRun ? "Approve the dry run?" : "Approve permanent deletion?",
        `<h1>${view.dryRun ? `Rehearse deleting ${count}? (dry run)` : `Delete ${count} permanently?`}</h1>
<p>${view.requester ? "A colleague's AI assistant" : "Your AI assistant"} asks to delete the following from Vonage Contact Center. Nothing has been deleted yet.</p>
${who}
${items}
${
  view.dryRun
    ? '<p class="warning"><strong>Dry run (VCC_DRY_RUN=true):</strong> nothing will be deleted; the server only records what it would have deleted.</p>'
    : '<p class="warning"><strong>This cannot be undone.</strong> Once deleted, the content is gone for good.</p>'
}
${viewer?.refusal ? `<p class="warning">You cannot approve this deletion: ${escapeHtml(viewer.refusal)}</p>` : ""}
<form method="post" action="${escapeHtml(action)}"${passkey ? ` data-passkey="${escapeHtml(JSON.stringify({ approve: { challenge: view.challenge, ids: passkey.credentialIds } }))}"` : ""}>
<input type="hidden" name="formKey" value="${escapeHtml(view.formKey)}">
<div class="actions">
${viewer?.refusal ? "" : `<button class="danger" type="submit" name="decision" value="approve">${view.dryRun ? "Approve the dry run" : "Delete permanently"}</button>\n`}${viewer?.mayCancel === false ? "" : `<button class="secondary" type="submit" name="decision" value="reject">Cancel</button>`}
</div>
</form>${passkey ? PASSKEY_NOTE : ""}
<p class="small">Only approve a deletion you asked for. This page can be answered once; it expires at ${escapeHtml(formatDate(view.expiresAt.toISOString()))} (${minutesLeft(view.expiresAt, now)}).</p>`,
        { script: Boolean(passkey) },
      );
    case "approved":
      return pageDocument(
        "Deletion approved",
        `<h1>Approved. Return to your assistant.</h1>
${who}
<p>${view.approver ? "Approved" : "You approved"} ${view.dryRun ? "the dry run (nothing is deleted) of the deletion" : "the permanent deletion"} of:</p>
${items}
<p>Go back to your assistant: it carries out the deletion and tells you the result. If it is waiting for you, tell it that you approved. You can close this page.</p>`,
      );
    case "rejected":
      return pageDocument(
        "Deletion cancelled",
        `<h1>Cancelled. Nothing was deleted.</h1>
${who}
${items}
<p>Return to your assistant: it will not delete this. If it is waiting for you, tell it that you cancelled. You can close this page.</p>`,
      );
    case "withdrawn":
      return messagePage(
        "This request is no longer active",
        "The assistant withdrew this request before you decided. Nothing was deleted. Return to your assistant and ask again if you still want the deletion.",
      );
    case "expired":
      return messagePage(
        "This approval link has expired",
        "Nothing was deleted through this link. Return to your assistant and ask again if you still want the deletion.",
      );
  }
}

/** A page that only says something: an invalid link, a refused form. */
export function messagePage(title: string, text: string): string {
  return pageDocument(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>`);
}
