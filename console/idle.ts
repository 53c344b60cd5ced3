// Signs an operator out when nobody has touched the console for a while: an admin session left open on
// a shared counter computer is the likeliest way for someone else to use it.

const ACTIVITY = ["pointerdown", "keydown", "wheel", "touchstart"] as const;
// browsers slow timers in background tabs; a visible tab is checked at once, and often enough
const CHECK_EVERY_MS = 10_000;

/** Calls `onIdle` once, after `limitMs` without a key press, click, touch or scroll. Answers a stop function. */
export function watchIdle(limitMs: number, onIdle: () => void): () => void {
  let lastActivity = Date.now();
  const touch = () => {
    lastActivity = Date.now();
  };
  const check = () => {
    if (Date.now() - lastActivity < limitMs) return;
    stop();
    onIdle();
  };
  const timer = setInterval(check, CHECK_EVERY_MS);
  for (const type of ACTIVITY) addEventListener(type, touch, { capture: true, passive: true });
  document.addEventListener("visibilitychange", check);

  function stop(): void {
    clearInterval(timer);
    for (const type of ACTIVITY) removeEventListener(type, touch, { capture: true });
    document.removeEventListener("visibilitychange", check);
  }
  return stop;
}
