// A software authenticator, as tests meet passkeys: keys made here with WebCrypto (ECDSA P-256, COSE ES256),
// attestation `none`, authenticator data and the attestation object CBOR-encoded here, so the API verifies what it
// did not compute itself. Each answer can be bent the way an attacker would bend it (another origin or relying
// party, no user verification, a counter going backwards, a broken signature or CBOR).

const encoder = new TextEncoder();

export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

function bigEndian(value: number, bytes: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, index) => (value >>> (8 * (bytes - 1 - index))) & 0xff);
}

/** What this encoder writes (RFC 8949): integers, byte and text strings, and maps. */
export type Cbor = number | string | Uint8Array | Map<Cbor, Cbor>;

function head(major: number, length: number): Uint8Array {
  if (length < 24) return Uint8Array.of((major << 5) | length);
  if (length < 0x100) return Uint8Array.of((major << 5) | 24, length);
  if (length < 0x10000) return concat(Uint8Array.of((major << 5) | 25), bigEndian(length, 2));
  return concat(Uint8Array.of((major << 5) | 26), bigEndian(length, 4));
}

export function cbor(value: Cbor): Uint8Array {
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const bytes = encoder.encode(value);
    return concat(head(3, bytes.length), bytes);
  }
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  return concat(head(5, value.size), ...[...value].flatMap(([key, item]) => [cbor(key), cbor(item)]));
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** A DER integer from a big-endian unsigned one: leading zeros dropped, a zero added when the top bit is set. */
function derInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  const value = (trimmed[0] ?? 0) & 0x80 ? concat(Uint8Array.of(0), trimmed) : trimmed;
  return concat(Uint8Array.of(0x02, value.length), value);
}

/** WebCrypto's ECDSA signature (r ‖ s) as WebAuthn carries it: an ASN.1 DER sequence. */
function derSignature(raw: Uint8Array): Uint8Array {
  const body = concat(derInteger(raw.subarray(0, 32)), derInteger(raw.subarray(32)));
  return concat(Uint8Array.of(0x30, body.length), body);
}

// authenticator data flags (WebAuthn §6.1)
const USER_PRESENT = 0x01;
const USER_VERIFIED = 0x04;
const BACKUP_ELIGIBLE = 0x08;
const BACKED_UP = 0x10;
const ATTESTED_DATA = 0x40;
const EXTENSION_DATA = 0x80;

/** How an answer is bent, each the way an attacker (or a broken authenticator) would. */
export interface Bend {
  origin?: string;
  rpId?: string;
  /** The challenge signed, in place of the one the options carried. */
  challenge?: string;
  userVerified?: boolean;
  /** The counter this answer reports, in place of the next one. */
  counter?: number;
  /** Another credential's id presented with this one's signature. */
  credentialId?: Uint8Array;
  brokenSignature?: boolean;
  /** An attestation object, or the extensions of authenticator data, that are not CBOR a parser can read. */
  malformed?: boolean;
}

/** The parts of the API's options an authenticator reads. */
export interface CreationOptions {
  challenge: string;
  rp: { id?: string | undefined };
  user: { id: string };
}

export interface RequestOptions {
  challenge: string;
  rpId?: string | undefined;
}

export interface Credential {
  id: Uint8Array;
  keys: CryptoKeyPair;
  /** The public key as the attestation carried it (COSE), which the relying party stores. */
  publicKey: Uint8Array;
  userHandle: string;
  counter: number;
  rpId: string;
}

/** A platform authenticator with resident keys and user verification, like a phone's. */
export class SoftwareAuthenticator {
  readonly credentials: Credential[] = [];
  readonly #origin: string;
  /** A synced passkey (backup eligible and backed up), or one bound to this device. */
  readonly #synced: boolean;

  constructor(origin: string, options: { synced?: boolean } = {}) {
    this.#origin = origin;
    this.#synced = options.synced ?? false;
  }

  #flags(userVerified: boolean, extra = 0): number {
    const backup = this.#synced ? BACKUP_ELIGIBLE | BACKED_UP : 0;
    return USER_PRESENT | (userVerified ? USER_VERIFIED : 0) | backup | extra;
  }

  #clientData(type: string, challenge: string, bend: Bend): string {
    return base64url(
      encoder.encode(
        JSON.stringify({ type, challenge: bend.challenge ?? challenge, origin: bend.origin ?? this.#origin, crossOrigin: false }),
      ),
    );
  }

  /** `navigator.credentials.create()`: a new key pair, and the attestation (`none`) the API verifies. */
  async create(options: CreationOptions, bend: Bend = {}) {
    const rpId = options.rp.id ?? new URL(this.#origin).hostname;
    const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    if (!("privateKey" in keys)) throw new Error("ECDSA makes a key pair");
    const exported = await crypto.subtle.exportKey("raw", keys.publicKey);
    if (!(exported instanceof ArrayBuffer)) throw new Error("a raw key is bytes");
    const raw = new Uint8Array(exported);
    const id = crypto.getRandomValues(new Uint8Array(32));
    const coseKey = cbor(
      new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, raw.subarray(1, 33)],
        [-3, raw.subarray(33, 65)],
      ]),
    );
    const counter = bend.counter ?? 0;
    const attested = concat(new Uint8Array(16), bigEndian(id.length, 2), id, coseKey);
    const flags = this.#flags(bend.userVerified ?? true, ATTESTED_DATA);
    const authData = concat(await sha256(encoder.encode(bend.rpId ?? rpId)), Uint8Array.of(flags), bigEndian(counter, 4), attested);
    const attestation = cbor(
      new Map<Cbor, Cbor>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    const credential: Credential = { id, keys, publicKey: coseKey, userHandle: options.user.id, counter, rpId };
    this.credentials.push(credential);
    return {
      id: base64url(id),
      rawId: base64url(id),
      type: "public-key" as const,
      authenticatorAttachment: "platform" as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: this.#clientData("webauthn.create", options.challenge, bend),
        // a head with a reserved additional information (28) where the attestation's map should begin
        attestationObject: base64url(bend.malformed ? concat(Uint8Array.of(0xfc), attestation.subarray(1)) : attestation),
        transports: ["internal"],
      },
    };
  }

  /** `navigator.credentials.get()` with one of its credentials (the newest unless named): a signed assertion. */
  async get(options: RequestOptions, bend: Bend = {}, credential = this.credentials.at(-1)) {
    if (!credential) throw new Error("this authenticator holds no credential: create() one first");
    credential.counter = bend.counter ?? credential.counter + 1;
    const rpIdHash = await sha256(encoder.encode(bend.rpId ?? options.rpId ?? credential.rpId));
    // a CBOR "break" where the extensions' map should begin: signed, so only the encoding is wrong
    const extensions = bend.malformed ? Uint8Array.of(0xff) : new Uint8Array();
    const flags = this.#flags(bend.userVerified ?? true, bend.malformed ? EXTENSION_DATA : 0);
    const authData = concat(rpIdHash, Uint8Array.of(flags), bigEndian(credential.counter, 4), extensions);
    const clientDataJSON = this.#clientData("webauthn.get", options.challenge, bend);
    const signed = concat(authData, await sha256(fromBase64url(clientDataJSON)));
    const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, credential.keys.privateKey, signed));
    const signature = derSignature(raw);
    if (bend.brokenSignature) signature[signature.length - 1] = (signature.at(-1) ?? 0) ^ 0xff;
    const id = base64url(bend.credentialId ?? credential.id);
    return {
      id,
      rawId: id,
      type: "public-key" as const,
      authenticatorAttachment: "platform" as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON,
        authenticatorData: base64url(authData),
        signature: base64url(signature),
        userHandle: credential.userHandle,
      },
    };
  }
}

export type Attestation = Awaited<ReturnType<SoftwareAuthenticator["create"]>>;
export type Assertion = Awaited<ReturnType<SoftwareAuthenticator["get"]>>;
