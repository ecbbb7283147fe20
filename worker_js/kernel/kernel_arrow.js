// Arrow injection, the page side: BentoKernel methods (mixed in by kernel.js).
//
//   const report = await kernel.injectArrow("df", arrayBuffer);   // the buffer is transferred:
//                                                                 // it is detached here afterwards
//   const report = await kernel.fetchArrow("df", url, init);      // the worker fetches and streams
//   const buffer = await kernel.exportArrow("df");                // an ArrayBuffer (Arrow IPC stream)
//   const report = await kernel.injectBytes("raw", arrayBuffer);  // bound as a memoryview
//
// Reports are plain objects {name, format, bytes_received, bytes_copied, peak_extra_bytes,
// rows, columns, batches, zero_copy_columns, seconds}. Failures reject with TransferError
// {ename, evalue} (ename "ArrowError", "MemoryBudgetExceeded", "NetworkError" ...); the
// name is then left as it was and the kernel goes on.
import { TransferError } from "./arrow.js";

export { TransferError };

/** The ArrayBuffer to transfer for `data`: an ArrayBuffer, or a typed array spanning one. */
function transferable(data) {
  if (data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer &&
      data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) {
    return data.buffer;
  }
  throw new TypeError(
    "pass an ArrayBuffer (or a typed array over a whole one); it is transferred to the worker, " +
    "not copied. For part of a buffer, pass view.slice().buffer");
}

export const arrowMethods = {
  /** Bind `name` to the DataFrame read from an Arrow IPC stream; transfers `buffer`. */
  injectArrow(name, buffer) {
    const data = transferable(buffer);
    return this._transfer({ name, format: "arrow", buffer: data }, [data]).then((r) => r.report);
  },

  /** Bind `name` to the raw bytes (a memoryview); transfers `buffer`. */
  injectBytes(name, buffer) {
    const data = transferable(buffer);
    return this._transfer({ name, format: "bytes", buffer: data }, [data]).then((r) => r.report);
  },

  /** The worker fetches `url` and streams the Arrow IPC body into wasm memory. */
  fetchArrow(name, url, init = {}, { format = "arrow" } = {}) {
    const absolute = new URL(url, globalThis.location.href).href;
    const headers = init.headers instanceof Headers ? Object.fromEntries(init.headers) : init.headers;
    const { signal, ...cloneable } = init; // an AbortSignal cannot cross to the worker
    return this._transfer({ name, format, url: absolute, init: { ...cloneable, headers } }, [])
      .then((r) => r.report);
  },

  /** The DataFrame or pyarrow Table bound to `name`, as an Arrow IPC stream (ArrayBuffer). */
  exportArrow(name) {
    return this._transfer({ name }, [], true).then((r) => r.buffer);
  },

  async _transfer(fields, transferList, isExport = false) {
    await this.start();
    const P = this.protocol;
    const id = `transfer-${++this._nextId}`;
    const done = new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, outputs: [] });
    });
    const message = P.make(isExport ? P.types.export : P.types.inject, { id, ...fields });
    this.worker.postMessage(message, transferList);
    const reply = await done;
    if (!reply.ok) throw new TransferError(reply.error);
    return reply;
  },
};
