// Stands in, in the shipped bundle only, for the two ASN.1 libraries @simplewebauthn/server uses to
// read an ECDSA signature (unwrapEC2Signature.js: `AsnParser.parse(signature, ECDSASigValue)` → r, s).
// A passkey's ES256/384/512 signature is DER: SEQUENCE { INTEGER r, INTEGER s }. That is all this
// reads, strictly (definite lengths, nothing left over); anything else throws and the assertion is
// refused. The ASN.1 stack it replaces is about 250 kB. Tested in test/unit/ecdsa-der.test.ts.

/** Marker only: the one schema this parser knows. */
export const ECDSASigValue = Symbol("ECDSASigValue");

export const AsnParser = {
  /** `{ r, s }` as ArrayBuffers (big-endian, as encoded). */
  parse(der, schema) {
    if (schema !== ECDSASigValue) throw new Error("only ECDSA signatures can be read");
    const bytes = new Uint8Array(der);
    let at = 0;
    const fail = () => {
      throw new Error("the signature is not a DER-encoded ECDSA signature");
    };
    const next = () => (at < bytes.length ? bytes[at++] : fail());
    const length = () => {
      const first = next();
      if (first < 0x80) return first;
      // Signatures are short: one length byte at most (P-521: up to 139 bytes), and only where needed.
      if (first !== 0x81) fail();
      const value = next();
      if (value < 0x80) fail();
      return value;
    };
    const integer = () => {
      if (next() !== 0x02) fail();
      const size = length();
      if (size === 0 || at + size > bytes.length) fail();
      const value = bytes.slice(at, at + size);
      at += size;
      return value.buffer;
    };
    if (next() !== 0x30) fail();
    if (length() !== bytes.length - at) fail();
    const r = integer();
    const s = integer();
    if (at !== bytes.length) fail();
    return { r, s };
  },
};
