// The DER reader the shipped bundle uses for passkey signatures (scripts/ecdsa-der.mjs): for real
// signatures of each curve it gives the r and s that Node's own P1363 encoding holds, and it refuses
// anything that is not exactly one DER SEQUENCE of two INTEGERs.
import { createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AsnParser, ECDSASigValue } from "../../scripts/ecdsa-der.mjs";

/** As unwrapEC2Signature does: drop a sign byte, pad to the curve's size. */
function fixed(value: ArrayBuffer, size: number): Buffer {
  let bytes = Buffer.from(value);
  while (bytes.length > size && bytes[0] === 0) bytes = bytes.subarray(1);
  return Buffer.concat([Buffer.alloc(size - bytes.length), bytes]);
}

describe("ECDSA DER signatures (bundle stand-in for the ASN.1 libraries)", () => {
  for (const [curve, size] of [
    ["prime256v1", 32],
    ["secp384r1", 48],
    ["secp521r1", 66],
  ] as const) {
    it(`reads r and s of ${curve} signatures exactly`, () => {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: curve });
      for (let i = 0; i < 40; i++) {
        const data = Buffer.from(`message ${i}`);
        const der = sign("sha256", data, { key: privateKey, dsaEncoding: "der" });
        const { r, s } = AsnParser.parse(der, ECDSASigValue);
        const p1363 = Buffer.concat([fixed(r, size), fixed(s, size)]);
        // The integers read are the signature's: it verifies in the fixed-size form WebCrypto takes.
        expect(verify("sha256", data, { key: createPublicKey(privateKey), dsaEncoding: "ieee-p1363" }, p1363)).toBe(true);
      }
    });
  }

  it("refuses anything else", () => {
    const parse = (bytes: number[]) => () => AsnParser.parse(Uint8Array.from(bytes), ECDSASigValue);
    expect(parse([])).toThrow();
    expect(parse([0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])).toThrow(); // a SET
    expect(parse([0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])).toThrow(); // length too long
    expect(parse([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00])).toThrow(); // trailing byte
    expect(parse([0x30, 0x03, 0x02, 0x01, 0x01])).toThrow(); // s missing
    expect(parse([0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01])).toThrow(); // empty integer
    expect(parse([0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])).toThrow(); // long form where short fits
    expect(parse([0x30, 0x06, 0x04, 0x01, 0x01, 0x02, 0x01, 0x01])).toThrow(); // not an INTEGER
    expect(AsnParser.parse(Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x07, 0x02, 0x01, 0x09]), ECDSASigValue)).toEqual({
      r: Uint8Array.from([7]).buffer,
      s: Uint8Array.from([9]).buffer,
    });
  });
});
