// Types of scripts/ecdsa-der.mjs, for its test.
export const ECDSASigValue: unique symbol;
export const AsnParser: {
  parse(der: Uint8Array, schema: typeof ECDSASigValue): { r: ArrayBuffer; s: ArrayBuffer };
};
