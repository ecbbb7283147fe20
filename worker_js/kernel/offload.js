// Remote offload, page side: names this notebook's executor session and interrupts it.
// The worker blocks in a synchronous request while a remote call runs, so the page (not
// the worker) must tell the executor to interrupt the remote kernel.

/** Give the notebook its executor session id (kernel.js resolves the URL and token). */
export function withExecutorSession(options) {
  const executor = options.executor;
  if (!executor || !executor.url || executor.session) return options;
  return { ...options, executor: { ...executor, session: globalThis.crypto.randomUUID() } };
}

/** Interrupt the remote call in progress, if any. Resolves to true when the executor agreed. */
export async function interruptRemote(options) {
  const executor = options.executor;
  if (!executor || !executor.url) return false;
  const url = `${executor.url}/bento/api/sessions/${encodeURIComponent(executor.session)}/interrupt`;
  const headers = executor.token ? { Authorization: `token ${executor.token}` } : {};
  try {
    const response = await fetch(url, { method: "POST", headers });
    return response.ok;
  } catch {
    return false;
  }
}
