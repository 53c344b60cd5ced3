// The page of a new-device notice's "this wasn't me" link: the link's token is in its fragment, which the browser
// never sends (nor does a mail scanner that opens the link), and only a press of the button sends it to the API.
// Nothing happens on load, so a scanner that runs the page signs nobody out.
const token = location.hash.slice(1);
// the token leaves the address bar and the history at once
history.replaceState(null, "", location.pathname);

const outcome = document.getElementById("outcome");
const button = document.getElementById("report");

function say(text: string): void {
  if (outcome) outcome.textContent = text;
}

async function report(): Promise<string> {
  const response = await fetch("/auth/sessions/report", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token }),
    cache: "no-store",
  });
  const body: unknown = await response.json().catch(() => undefined);
  const words =
    typeof body === "object" && body !== null ? ("message" in body ? body.message : "detail" in body ? body.detail : undefined) : undefined;
  return typeof words === "string" ? words : "Something went wrong. Try the link again in a moment.";
}

if (button instanceof HTMLButtonElement) {
  if (token === "") {
    say("This link is incomplete: open it from the message again.");
  } else {
    button.disabled = false;
    button.addEventListener("click", () => {
      button.disabled = true;
      report()
        .then(say)
        .catch(() => say("The service could not be reached. Try the link again in a moment."));
    });
  }
}
