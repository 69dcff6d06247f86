/**
 * Resolves once `check()` holds, checking every few ms; rejects after `timeoutMs`. For state
 * with no event to wait on (a counter the server updates when it notices a disconnect).
 */
export async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
