// Arrow injection, the worker side: JS bytes -> a pandas DataFrame bound in the kernel's
// namespace (one copy into wasm memory), and a DataFrame -> Arrow IPC bytes for JS.
//
//   import { injectArrow, exportArrow, handleTransfer } from "./arrow.js";
//
//   const report = await injectArrow(ctx, name, source, { format = "arrow" } = {});
//     ctx     {pyodide, kernel}: the worker's Pyodide and its WorkerKernel (a PyProxy).
//     name    the Python name to bind; bound only if everything succeeds.
//     source  an ArrayBuffer or Uint8Array: copied once into wasm memory; or a fetch
//             Response: its body is streamed chunk by chunk straight into wasm memory
//             (Content-Length sizes it; without one it grows), never held whole in JS.
//     format  "arrow": an Arrow IPC stream (or file) -> DataFrame; "bytes": a memoryview.
//     Resolves to the injection report (plain object: name, format, bytes_received,
//     bytes_copied, peak_extra_bytes, rows, columns, batches, zero_copy_columns, seconds).
//     Rejects with TransferError {ename, evalue}: ArrowError for bad bytes or schemas,
//     MemoryBudgetExceeded when admission refuses, NetworkError for a failed response.
//
//   const { buffer, report } = await exportArrow(ctx, name);
//     buffer  a new ArrayBuffer with the Arrow IPC stream of the DataFrame / pyarrow Table
//             bound to `name` (copied once out of wasm memory, through a view of it).
//
//   const { reply, transfer } = await handleTransfer(ctx, msg, P);
//     The worker's handler for the protocol's `inject` and `export` messages; never throws.

const PACKAGES = ["pandas", "pyarrow"];
const MIN_CAPACITY = 1 << 20;

export class TransferError extends Error {
  constructor({ ename = "Error", evalue = "", ...details } = {}) {
    super(evalue);
    this.name = ename;
    this.ename = ename;
    this.evalue = evalue;
    Object.assign(this, details);
  }
}

let module = null; // bento_wasm.browser.arrow, imported once pandas and pyarrow are loaded

async function pythonSide(pyodide) {
  await pyodide.loadPackage(PACKAGES, { messageCallback: () => {} });
  if (!module) module = pyodide.pyimport("bento_wasm.browser.arrow");
  return module;
}

function plain(proxy) {
  if (proxy === null || proxy === undefined || typeof proxy !== "object" || !proxy.toJs) return proxy;
  try {
    return proxy.toJs({ dict_converter: Object.fromEntries });
  } finally {
    proxy.destroy();
  }
}

/** A Python Reply -> its value (an owned PyProxy or plain data), or throw its error. */
function unwrap(reply) {
  try {
    if (!reply.ok) throw new TransferError(plain(reply.error.copy()));
    const value = reply.value; // borrowed from `reply`: copy it before `reply` goes
    return value && typeof value.copy === "function" ? value.copy() : value;
  } finally {
    reply.destroy();
  }
}

export async function injectArrow(ctx, name, source, { format = "arrow" } = {}) {
  const py = await pythonSide(ctx.pyodide);
  if (typeof Response !== "undefined" && source instanceof Response) {
    return streamResponse(ctx, py, name, source, format);
  }
  if (!(source instanceof ArrayBuffer || ArrayBuffer.isView(source))) {
    throw new TransferError({
      ename: "ArrowError",
      evalue: `expected an ArrayBuffer or a fetch Response, got ${Object.prototype.toString.call(source)}`,
    });
  }
  return injectBuffer(ctx, py, name, source, format);
}

/**
 * A whole buffer: admitted and given a landing first, then copied into it by JavaScript
 * (one copy), then read. Python never holds a proxy of the source: Pyodide 0.27.7 cannot make
 * one once its buffers lie past 2 GiB of wasm memory ("Unknown typed array type"), which a
 * large heap reaches.
 */
function injectBuffer(ctx, py, name, source, format) {
  const bytes = source instanceof ArrayBuffer
    ? new Uint8Array(source)
    : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  const landing = unwrap(py.open_landing(ctx.kernel, name, bytes.byteLength, true));
  let view = null;
  try {
    view = landingView(ctx, landing);
    view.data.set(bytes, 0);
    view.release();
    view = null;
    return plain(unwrap(py.bind_landing(ctx.kernel, landing, name, bytes.byteLength, format)));
  } finally {
    view?.release();
    landing.destroy();
  }
}

/**
 * A view of the landing's wasm memory; re-taken whenever wasm memory grows (detaches it).
 * Made from the landing's address, not with PyProxy.getBuffer: Pyodide 0.27.7's getBuffer
 * turns an address past 2 GiB into a negative offset, and a large heap puts landings there.
 */
function landingView(ctx, landing) {
  const buffer = landing.buffer; // the pyarrow Buffer: its address and size
  try {
    const memory = ctx.pyodide._module.HEAPU8.buffer;
    return { data: new Uint8Array(memory, buffer.address, buffer.size), release() {} };
  } finally {
    buffer.destroy();
  }
}

async function streamResponse(ctx, py, name, response, format) {
  if (!response.ok) {
    throw new TransferError({
      ename: "NetworkError",
      evalue: `${response.url} answered HTTP ${response.status} ${response.statusText}; check the URL and that the server serves the file`,
    });
  }
  const announced = Number(response.headers.get("content-length")) || 0;
  const landing = unwrap(py.open_landing(ctx.kernel, name, Math.max(announced, MIN_CAPACITY)));
  let capacity = landing.capacity;
  let view = null;
  let size = 0;
  const reader = response.body.getReader();
  try {
    view = landingView(ctx, landing);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (size + value.length > capacity) {
        view.release();
        view = null;
        const wanted = Math.max(size + value.length, 2 * capacity);
        unwrap(py.grow_landing(ctx.kernel, landing, name, size, wanted));
        capacity = landing.capacity;
        view = landingView(ctx, landing);
      } else if (view.data.byteLength === 0) {
        view.release(); // wasm memory grew meanwhile: the old view is detached
        view = landingView(ctx, landing);
      }
      view.data.set(value, size);
      size += value.length;
    }
    view.release();
    view = null;
    return plain(unwrap(py.bind_landing(ctx.kernel, landing, name, size, format)));
  } catch (err) {
    reader.cancel().catch(() => {});
    if (err instanceof TransferError) throw err;
    throw new TransferError({
      ename: err.type === undefined ? "NetworkError" : "KernelError",
      evalue: `streaming ${response.url} into the kernel failed: ${err.message}`,
    });
  } finally {
    view?.release();
    landing.destroy();
  }
}

export async function exportArrow(ctx, name) {
  const py = await pythonSide(ctx.pyodide);
  const pair = unwrap(py.export(ctx.kernel, name)); // (pyarrow Buffer, report dict)
  const arrowBuffer = pair.get(0);
  try {
    // The one copy out of wasm memory, from the buffer's address (not getBuffer: see
    // landingView): a fresh ArrayBuffer that can be transferred.
    const memory = ctx.pyodide._module.HEAPU8.buffer;
    const buffer = new Uint8Array(memory, arrowBuffer.address, arrowBuffer.size).slice().buffer;
    return { buffer, report: pair.get(1).toJs({ dict_converter: Object.fromEntries }) };
  } finally {
    arrowBuffer.destroy();
    pair.destroy();
  }
}

async function fetchSource(msg) {
  try {
    return await fetch(msg.url, msg.init || {});
  } catch (err) {
    throw new TransferError({
      ename: "NetworkError",
      evalue: `cannot fetch ${msg.url}: ${err.message}; check that the server is up and allows this origin (CORS)`,
    });
  }
}

export async function handleTransfer(ctx, msg, P) {
  const T = P.types;
  try {
    if (msg.type === T.export) {
      const { buffer, report } = await exportArrow(ctx, msg.name);
      return { reply: P.make(T.transfer_reply, { id: msg.id, ok: true, report, buffer }), transfer: [buffer] };
    }
    const source = msg.url ? await fetchSource(msg) : msg.buffer;
    const report = await injectArrow(ctx, msg.name, source, { format: msg.format });
    return { reply: P.make(T.transfer_reply, { id: msg.id, ok: true, report }), transfer: [] };
  } catch (err) {
    const error = err instanceof TransferError
      ? { ename: err.ename, evalue: err.evalue }
      : { ename: "KernelError", evalue: err && err.message ? err.message : String(err) };
    return { reply: P.make(T.transfer_reply, { id: msg.id, ok: false, error }), transfer: [] };
  }
}
