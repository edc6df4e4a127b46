/** Polls a condition (e.g. what a test server has observed) instead of sleeping a guessed time. */
export async function waitFor(condition: () => boolean, timeoutMs = 1000, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
