// This browser's device token: the one thing the console keeps on disk. It opens nothing by itself (no session, no
// password): it gives this browser a run of wrong passwords of its own, so an attacker's failures elsewhere never
// lock the admin out here, and spares the admin a new-device mail at each sign-in.
const KEY = "coffee-shop-admin-device";

/** The token the last sign-in in this browser answered, if storage works here. */
export function deviceToken(): string | undefined {
  try {
    return localStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the newest token (it rotates at each sign-in); a browser that refuses storage is a new device each time. */
export function keepDeviceToken(token: string): void {
  try {
    localStorage.setItem(KEY, token);
  } catch {
    // private browsing or storage turned off: nothing to keep
  }
}
