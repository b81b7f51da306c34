// Who may decide on a team server's approval page: the requester alone by default, another person
// carrying the approver claim with the four-eyes rule; cancelling is open to the requester.
import { describe, expect, it } from "vitest";
import { carriesClaim, decisionRefusal } from "../../src/auth/approver-signin.js";
import { loadConfig } from "../../src/config.js";
import { identityFromClaims } from "../../src/core/identity.js";

const ISSUER = "https://login.example.test";
const alice = { subject: "alice", issuer: ISSUER, name: "Alice" };
const bob = { subject: "bob", issuer: ISSUER, name: "Bob" };
const approvers = { groups: ["staff", "vcc-approvers"] };
const claim = { name: "groups", value: "vcc-approvers" };

describe("decisionRefusal", () => {
  it("without four eyes: the requester decides; others only with the configured claim", () => {
    const rules = { separateApprover: false };
    expect(decisionRefusal(rules, { requester: alice, approver: { ...alice, name: "A." }, claims: {} }, "approve")).toBeUndefined();
    expect(decisionRefusal(rules, { requester: alice, approver: bob, claims: approvers }, "approve")).toMatch(/only the person who asked/);
    expect(
      decisionRefusal({ ...rules, approverClaim: claim }, { requester: alice, approver: bob, claims: approvers }, "approve"),
    ).toBeUndefined();
    // The same subject at another issuer is another person.
    expect(
      decisionRefusal(rules, { requester: alice, approver: { ...alice, issuer: "https://other.test" }, claims: {} }, "approve"),
    ).toBeDefined();
  });
  it("four eyes: never the requester, only someone else with the claim; the requester may still cancel", () => {
    const rules = { separateApprover: true, approverClaim: claim };
    expect(decisionRefusal(rules, { requester: alice, approver: alice, claims: approvers }, "approve")).toMatch(/four-eyes/);
    expect(decisionRefusal(rules, { requester: alice, approver: bob, claims: { groups: ["staff"] } }, "approve")).toMatch(/vcc-approvers/);
    expect(decisionRefusal(rules, { requester: alice, approver: bob, claims: approvers }, "approve")).toBeUndefined();
    expect(decisionRefusal(rules, { requester: alice, approver: alice, claims: {} }, "reject")).toBeUndefined();
    expect(decisionRefusal(rules, { requester: alice, approver: bob, claims: {} }, "reject")).toBeDefined();
  });
  it("four eyes with an identity provider whose sub differs per application (Entra ID): VCC_PERSON_CLAIM=oid tells the requester", () => {
    const rules = { separateApprover: true, approverClaim: claim };
    // The same person: the API's access token and the approval page's ID token, as Entra issues them.
    const accessToken = { sub: "pairwise-for-the-api", oid: "2b7c…-alice", name: "Alice" };
    const idToken = { sub: "pairwise-for-the-page", oid: "2b7c…-alice", name: "Alice", groups: ["vcc-approvers"] };
    const bySub = { requester: identityFromClaims(accessToken, ISSUER), approver: identityFromClaims(idToken, ISSUER) };
    // With sub, Alice would pass for another person and approve her own request.
    if (!bySub.approver) throw new Error("no identity");
    expect(decisionRefusal(rules, { requester: bySub.requester, approver: bySub.approver, claims: idToken }, "approve")).toBeUndefined();
    const byOid = { requester: identityFromClaims(accessToken, ISSUER, "oid"), approver: identityFromClaims(idToken, ISSUER, "oid") };
    if (!byOid.approver) throw new Error("no identity");
    expect(byOid.approver).toMatchObject({ subject: "2b7c…-alice", name: "Alice" });
    expect(decisionRefusal(rules, { requester: byOid.requester, approver: byOid.approver, claims: idToken }, "approve")).toMatch(
      /four-eyes/,
    );
    // A token without the claim names nobody.
    expect(identityFromClaims({ sub: "x" }, ISSUER, "oid")).toBeUndefined();
  });
  it("VCC_PERSON_CLAIM is sub unless set, and must be a claim name", () => {
    const team = {
      VCC_ACCESS_TOKEN: "x".repeat(20),
      VCC_TRANSPORT: "http",
      VCC_HTTP_AUTH: "oauth",
      VCC_OAUTH_ISSUER: ISSUER,
      VCC_HTTP_PUBLIC_URL: "https://vcc-mcp.example.test",
    };
    expect(loadConfig(team).http.oauth?.personClaim).toBe("sub");
    expect(loadConfig({ ...team, VCC_PERSON_CLAIM: "oid" }).http.oauth?.personClaim).toBe("oid");
    expect(() => loadConfig({ ...team, VCC_PERSON_CLAIM: "groups:x" })).toThrow(/VCC_PERSON_CLAIM/);
  });
  it("claims may be lists or space-separated strings", () => {
    expect(carriesClaim({ roles: "VCC.Approver Reader" }, "roles", "VCC.Approver")).toBe(true);
    expect(carriesClaim({ groups: ["vcc-approvers-not"] }, "groups", "vcc-approvers")).toBe(false);
    expect(carriesClaim({}, "groups", "vcc-approvers")).toBe(false);
  });
});
