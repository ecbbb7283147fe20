// The JS half of the data magics (%%sql, %%googlesheet, %%graphql, %%dataframe).
//
// Python plans each request as data (bento_wasm.data.parsing: URL, method, headers with the
// executor token from the page's URL, body) and awaits these functions; the fetch happens
// here, in the worker, with the page's credentials and CORS. An Arrow IPC answer is injected
// into Python by worker_js/arrow.js (one copy into wasm memory, after the kernel's admission
// check), so a 10^6-row result never passes through Python bytes or JSON.
//
// Installed as globalThis.bentoMagics before the kernel starts (bento_wasm.browser.magics).
import { injectArrow } from "./arrow.js";

async function send(request) {
  const init = { method: request.method, headers: request.headers };
  if (request.body !== null && request.body !== undefined) init.body = request.body;
  return fetch(request.url, init); // rejects with TypeError when the server cannot be reached
}

async function answer(response) {
  return {
    status: response.status,
    contentType: response.headers.get("content-type") || "",
    body: new Uint8Array(await response.arrayBuffer()),
  };
}

/** Install the middleware; ctx is what worker_js/arrow.js needs to reach the kernel. */
export function installMagics(ctx) {
  const middleware = {
    /** What went through here: requests made, Arrow injections and their bytes. */
    stats: { fetch: 0, fetchArrow: 0, arrowBytes: 0 },
    /** A request as data -> {status, contentType, body: Uint8Array}. */
    async fetch(request) {
      middleware.stats.fetch += 1;
      return answer(await send(request));
    },
    /** Fetch an Arrow IPC stream and bind it to `name`; null, or the failed answer as data. */
    async fetchArrow(request, name) {
      middleware.stats.fetchArrow += 1;
      const response = await send(request);
      if (!response.ok) return answer(response);
      const report = await injectArrow(ctx, name, response);
      middleware.stats.arrowBytes += report.bytes_received || 0;
      return null;
    },
  };
  globalThis.bentoMagics = middleware;
  return middleware;
}
