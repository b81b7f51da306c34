// The WebAuthn checks, by @simplewebauthn/server: an assertion (approving, or proving an existing
// passkey before enrolling another) and a registration (enrolling). User verification is required
// everywhere: a touch alone is not enough, the authenticator must have checked the person (biometrics
// or PIN). Loaded on first use only (it is the largest part of the bundle that approvals need).
import {
  type AuthenticationResponseJSON,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { RP_ID, RP_NAME, type StoredPasskey } from "./passkeys.js";

export type AssertionCheck = { ok: true; id: string; counter: number } | { ok: false; reason: string };

/** Parses the page's JSON; undefined when it is not an object with a string `id`. */
function parseCredential<T extends { id: string }>(text: string): T | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && typeof (value as { id?: unknown }).id === "string") return value as T;
  } catch {
    // fall through
  }
  return undefined;
}

/** Whether `assertion` was made by one of `passkeys`, for exactly `challenge`, on `origin`, with user verification. */
export async function verifyAssertion(
  assertion: string,
  expected: { challenge: string; origin: string; passkeys: readonly StoredPasskey[] },
): Promise<AssertionCheck> {
  const response = parseCredential<AuthenticationResponseJSON>(assertion);
  if (!response) return { ok: false, reason: "no readable passkey answer" };
  const passkey = expected.passkeys.find((p) => p.id === response.id);
  if (!passkey) return { ok: false, reason: "the passkey is not registered" };
  try {
    const { verified, authenticationInfo } = await verifyAuthenticationResponse({
      response,
      expectedChallenge: expected.challenge,
      expectedOrigin: expected.origin,
      expectedRPID: RP_ID,
      requireUserVerification: true,
      credential: {
        id: passkey.id,
        publicKey: Buffer.from(passkey.publicKey, "base64url"),
        counter: passkey.counter,
        ...(passkey.transports ? { transports: passkey.transports } : {}),
      },
    });
    if (!verified) return { ok: false, reason: "the signature does not verify" };
    return { ok: true, id: passkey.id, counter: authenticationInfo.newCounter };
  } catch (error) {
    // The library throws for a wrong challenge, origin, RP, missing user verification, a counter that went back.
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** The options for navigator.credentials.create(): a resident key, user verification required, no attestation. */
export function registrationOptions(options: {
  userId: string;
  challenge: string;
  existing: readonly StoredPasskey[];
}): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: RP_ID,
    userName: "vcc-approver",
    userDisplayName: "VCC deletion approver",
    userID: Buffer.from(options.userId, "base64url"),
    challenge: Buffer.from(options.challenge, "base64url"),
    attestationType: "none",
    excludeCredentials: options.existing.map((p) => ({ id: p.id })),
    authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
    timeout: 120_000,
  });
}

/** The new passkey, if `registration` answers `challenge` on `origin` with user verification. */
export async function verifyRegistration(
  registration: string,
  expected: { challenge: string; origin: string; now: Date },
): Promise<{ ok: true; passkey: StoredPasskey } | { ok: false; reason: string }> {
  const response = parseCredential<RegistrationResponseJSON>(registration);
  if (!response) return { ok: false, reason: "no readable passkey answer" };
  try {
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge: expected.challenge,
      expectedOrigin: expected.origin,
      expectedRPID: RP_ID,
      requireUserVerification: true,
    });
    if (!result.verified) return { ok: false, reason: "the registration does not verify" };
    // Asked for no attestation; the shipped bundle cannot read certificate attestations (scripts/bundle.mjs).
    if (result.registrationInfo.fmt !== "none")
      return { ok: false, reason: `attestation format ${result.registrationInfo.fmt} is not accepted, only none` };
    const { credential } = result.registrationInfo;
    return {
      ok: true,
      passkey: {
        id: credential.id,
        publicKey: Buffer.from(credential.publicKey).toString("base64url"),
        counter: credential.counter,
        ...(credential.transports?.length ? { transports: credential.transports } : {}),
        createdAt: expected.now.toISOString(),
      },
    };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
