/**
 * Resolves once `check()` holds, checking every few ms; rejects after `timeoutMs`. For state
 * with no event to wait on (a counter the server updates when it notices a disconnect, a
 * health flag, an HTTP status probed from outside). `check` may be async: the next check
 * starts after the previous one settled.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
  everyMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
