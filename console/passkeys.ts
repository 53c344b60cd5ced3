// Passkeys in the browser: the API's options handed to WebAuthn (the browser's own JSON parsers read them), and what
// the authenticator made handed back as the JSON the API reads, its bytes in base64url. Nothing here keeps a key:
// the authenticator holds it, and the API keeps only its public half.
import { base64url } from "./base64url.ts";
import type { PasskeyAssertion, PasskeyAttestation, PasskeyCreationOptions, PasskeyRequestOptions } from "./api.ts";

type Transport = NonNullable<PasskeyAttestation["response"]["transports"]>[number];
const TRANSPORTS: readonly string[] = ["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"] satisfies Transport[];

function isTransport(name: string): name is Transport {
  return TRANSPORTS.includes(name);
}

/** Whether this browser can use passkeys with the API's JSON options (every current browser can). */
export function passkeysSupported(): boolean {
  return typeof PublicKeyCredential === "function" && typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";
}

function attachment(credential: PublicKeyCredential): "platform" | "cross-platform" | undefined {
  const { authenticatorAttachment } = credential;
  return authenticatorAttachment === "platform" || authenticatorAttachment === "cross-platform" ? authenticatorAttachment : undefined;
}

/** What every credential the browser made carries, in the API's JSON: its id, and where the authenticator sits. */
function common(credential: PublicKeyCredential) {
  return {
    id: credential.id,
    rawId: base64url(credential.rawId),
    type: "public-key" as const,
    authenticatorAttachment: attachment(credential),
    clientExtensionResults: {},
  };
}

const nothingMade = () => new DOMException("The browser gave no passkey.", "NotAllowedError");

/** A passkey of the options' account, made by an authenticator the person chooses (it asks them to unlock it). */
export async function createPasskey(options: PasskeyCreationOptions): Promise<PasskeyAttestation> {
  const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
  if (!(credential instanceof PublicKeyCredential) || !(credential.response instanceof AuthenticatorAttestationResponse))
    throw nothingMade();
  const { response } = credential;
  const transports = response.getTransports().filter(isTransport);
  const made = { clientDataJSON: base64url(response.clientDataJSON), attestationObject: base64url(response.attestationObject), transports };
  return { ...common(credential), response: made };
}

/** An assertion of the options' challenge, signed by a passkey the person chooses (or the one the options allow). */
export async function usePasskey(options: PasskeyRequestOptions): Promise<PasskeyAssertion> {
  const credential = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
  if (!(credential instanceof PublicKeyCredential) || !(credential.response instanceof AuthenticatorAssertionResponse)) throw nothingMade();
  const { response } = credential;
  const signed = {
    clientDataJSON: base64url(response.clientDataJSON),
    authenticatorData: base64url(response.authenticatorData),
    signature: base64url(response.signature),
    userHandle: response.userHandle ? base64url(response.userHandle) : undefined,
  };
  return { ...common(credential), response: signed };
}

/** What the browser's refusal means, in words: the person closed its prompt, or the authenticator holds one already. */
export function describePasskeyError(error: DOMException): string {
  if (error.name === "InvalidStateError") return "This authenticator holds a passkey of this account already.";
  if (error.name === "NotAllowedError") return "No passkey was used: the prompt was closed, or it timed out. Try again.";
  return `The browser could not use a passkey (${error.name}).`;
}
