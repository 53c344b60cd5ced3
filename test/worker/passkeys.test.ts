// Passkeys (WebAuthn) through the API with a software authenticator: adding one, signing in with it on its own and
// after an address is typed, step-up, the owner's and an admin's management, and everything an attacker sends.
import { describe, expect, it } from "vitest";
import { bearer, client, expectProblem, json, login, mailTo, manualClock, seededUser } from "./helpers.ts";
import { claimsOf } from "./factors.ts";
import { addPasskey, authenticator, passkeySignIn, signedInWithPasskey } from "./passkeys.ts";

describe("a passkey signs in on its own", () => {
  it("is added with the password, and then signs in with no address typed: amr hwk and user, auth_time now", async () => {
    const clock = manualClock();
    const call = client({ clock });
    const user = await seededUser();
    const { access_token } = await login(user, call);
    const device = authenticator();
    const added = await addPasskey(call, user, access_token, device);
    expect(added).toMatchObject({ device_type: "singleDevice", backed_up: false, last_used_at: null });
    const [mail] = await mailTo(user.email);
    expect(mail?.subject).toContain("a passkey was added");
    clock.advance(60);
    const signedIn = await signedInWithPasskey(call, device);
    expect(claimsOf(signedIn.access_token)).toMatchObject({ amr: ["hwk", "user"], auth_time: Math.floor(clock().getTime() / 1000) });
    expect((await call("/users/me", bearer(signedIn.access_token))).status).toBe(200);
  });

  it("a passkey that is not the account's is refused", async () => {
    const stranger = authenticator();
    await stranger.create({ challenge: "AAAA", rp: { id: "localhost" }, user: { id: "OTk" } });
    await expectProblem(await passkeySignIn(client(), stranger), 401, "passkey_invalid");
  });
});
