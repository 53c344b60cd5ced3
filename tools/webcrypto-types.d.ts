import type { webcrypto } from "node:crypto";

// src/ names WebCrypto's key type as the global `CryptoKey`, as the Workers runtime declares it. Node has the
// same class (webcrypto.CryptoKey) as a global value, but @types/node declares no global type for it; the
// command-line tools run src/ modules on Node, so they get the type here.
declare global {
  type CryptoKey = webcrypto.CryptoKey;
}
