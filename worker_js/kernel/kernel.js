// BentoKernel: the page-side kernel object. It hides the worker behind one interface:
//   const kernel = await BentoKernel.fromConfig("/bento/config.json");
//   kernel.addEventListener("output", (e) => render(e.detail));
//   await kernel.start();
//   const { reply, outputs } = await kernel.execute("1 + 1");
//   kernel.interrupt(); await kernel.restart();
//   await kernel.injectArrow("df", arrayBuffer); const ipc = await kernel.exportArrow("df");
//   (Arrow injection: worker_js/kernel_arrow.js; fetchArrow, injectBytes too)
// Events are named after protocol messages: status {state, detail, elapsed_s} and
// fatal {message, phase, hint}, memory (after each cell: snapshot, delta_bytes, budget_bytes,
// used_fraction; kernel.memory holds the latest); plus output, for every output message of any cell.
import { interruptRemote, withExecutorSession } from "./offload.js";
import { Protocol, loadProtocol } from "./protocol.js";
import { arrowMethods, TransferError } from "./kernel_arrow.js";

/** The longest answer input() can get (UTF-8 bytes); longer answers are cut. */
const STDIN_BYTES = 1 << 20;

export { TransferError };

/** What complete/inspect/is_complete get while a cell runs: nothing, at once (a checked reply). */
function busyReply(P, type, fields) {
  const T = P.types;
  const ok = P.replyStatuses.ok;
  const { id, cursor_pos: at } = fields;
  if (type === T.complete_request) {
    return P.make(T.complete_reply, { id, status: ok, matches: [], cursor_start: at, cursor_end: at, metadata: {} });
  }
  if (type === T.inspect_request) return P.make(T.inspect_reply, { id, status: ok, found: false, data: {}, metadata: {} });
  return P.make(T.is_complete_reply, { id, status: P.spec.completeness.at(-1) }); // unknown
}

const DEFAULTS = {
  workerURL: new URL("./worker.js", import.meta.url).href,
  protocolURL: new URL("./protocol.json", import.meta.url).href,
  indexURL: null, // where the Pyodide runtime is served, ending in "/"
  wheelURL: null, // the bento_wasm wheel
  stdLibURL: "", // the runtime's compiled standard library (none: Pyodide's official zip)
  bytecodeBundles: [], // the preloaded wheels whose bytecode the server compiled
  preload: ["pandas", "pyarrow"],
  bootTimeoutMs: 60000,
  env: { MPLBACKEND: "Agg" },
  // The bento server through which input() waits when the page is not cross-origin isolated
  // ({url, token}; default: the executor's). See sendInput.
  stdin: null,
};

/** The memory message, plus the page's JS heap where the browser exposes it (not in a worker). */
function withPageHeap(msg) {
  const heap = globalThis.performance?.memory;
  if (!heap) return msg;
  const snapshot = { ...msg.snapshot, js_heap_bytes: heap.usedJSHeapSize, js_heap_limit_bytes: heap.jsHeapSizeLimit };
  return { ...msg, snapshot };
}

/**
 * The executor server's {url, token}: the URL absolute (it may come relative to the page),
 * the token, unless given, from the page's own URL (?token=..., as `./dev run` prints it).
 */
function executorOptions(executor) {
  if (!executor) return executor;
  const url = executor.url ? new URL(executor.url, globalThis.location.href).href.replace(/\/$/, "") : "";
  const token = executor.token || new URLSearchParams(globalThis.location.search).get("token") || "";
  return { ...executor, url, token };
}

/** input()'s server {url, token, session} (the executor's unless given), or null: none. */
function stdinOptions(stdin, executor) {
  const given = stdin?.url ? stdin : executor?.url ? { url: executor.url, token: executor.token } : null;
  const server = executorOptions(given);
  if (!server?.url) return null;
  return { url: server.url, token: server.token, session: stdin?.session || globalThis.crypto.randomUUID() };
}

export class KernelDied extends Error {
  constructor(message, { phase = "", hint = "" } = {}) {
    super(message);
    this.name = "KernelDied";
    this.phase = phase;
    this.hint = hint;
  }
}

export class BentoKernel extends EventTarget {
  constructor(options) {
    super();
    this.options = withExecutorSession({ ...DEFAULTS, ...options });
    // URLs may come relative to the page; the worker needs them absolute.
    for (const key of ["workerURL", "protocolURL", "indexURL", "wheelURL", "stdLibURL"]) {
      if (this.options[key]) this.options[key] = new URL(this.options[key], globalThis.location.href).href;
    }
    this.options.executor = executorOptions(this.options.executor);
    this.options.stdin = stdinOptions(this.options.stdin, this.options.executor);
    this._input = null; // the input_request waiting for sendInput, when not isolated
    this.protocol = options.protocol instanceof Protocol ? options.protocol : null;
    this.state = "unstarted";
    this.worker = null;
    this._pending = new Map();
    this._nextId = 0;
    this._ready = null;
  }

  /** Build a kernel from a config JSON served by the bento server (/bento/config.json). */
  static async fromConfig(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`cannot load kernel config ${url}: HTTP ${response.status}`);
    return new BentoKernel(await response.json());
  }

  /** Start the worker; resolves when a plain cell can run, rejects with KernelDied. */
  async start() {
    if (!this.protocol) this.protocol = await loadProtocol(this.options.protocolURL);
    if (!this._ready) this._spawn();
    return this._ready;
  }

  _spawn() {
    const P = this.protocol;
    this.startedAt = performance.now();
    this.interruptBuffer = globalThis.crossOriginIsolated ? new SharedArrayBuffer(4) : null;
    // input(): [state, length] then the answer's UTF-8 bytes (see sendInput).
    this.stdinBuffer = globalThis.crossOriginIsolated ? new SharedArrayBuffer(8 + STDIN_BYTES) : null;
    let resolveReady, rejectReady;
    this._ready = new Promise((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    this._ready.catch(() => {}); // observed through start(); never an unhandled rejection
    this._resolveReady = resolveReady;
    this._rejectReady = rejectReady;
    const worker = new Worker(this.options.workerURL, { type: "module", name: "bento-kernel" });
    this.worker = worker;
    worker.onmessage = (event) => this._onMessage(event.data);
    worker.onerror = (event) => {
      event.preventDefault?.();
      this._die(`the kernel worker failed: ${event.message || `could not load ${this.options.workerURL}`}`,
        "worker", "Check that worker.js is served (and as JavaScript), then restart the kernel.");
    };
    worker.onmessageerror = () => this._die("a message from the worker could not be read", "worker", "Restart the kernel.");
    // Outlives the worker's own timeout: it fires only if the worker cannot even report.
    clearTimeout(this._watchdog);
    this._watchdog = setTimeout(() => {
      if (this.state !== P.states.idle && this.state !== P.states.busy) {
        this._die(`the kernel did not start within ${(this.options.bootTimeoutMs + 5000) / 1000} s`,
          "starting", "Check the browser console and that the runtime is served.");
      }
    }, this.options.bootTimeoutMs + 5000);
    const { protocol, ...options } = this.options;
    worker.postMessage(P.make(P.types.boot, {
      options: { ...options, protocol: P.spec, interruptBuffer: this.interruptBuffer,
        stdinBuffer: this.stdinBuffer },
    }));
  }

  _onMessage(msg) {
    const P = this.protocol;
    const T = P.types;
    switch (msg.type) {
      case T.status:
        this.state = msg.state;
        if (msg.state === P.states.idle) {
          clearTimeout(this._watchdog);
          this._resolveReady({ elapsed_s: msg.elapsed_s });
        }
        this.dispatchEvent(new CustomEvent(T.status, { detail: msg }));
        return;
      case T.fatal:
        this._die(msg.message, msg.phase, msg.hint);
        return;
      case T.memory:
        this.memory = withPageHeap(msg);
        this.dispatchEvent(new CustomEvent(T.memory, { detail: this.memory }));
        return;
      case T.complete_reply:
      case T.inspect_reply:
      case T.is_complete_reply:
      case T.transfer_reply: {
        // Arrow injection/export (kernel_arrow.js): settled with the whole reply.
        const pending = this._pending.get(msg.id);
        this._pending.delete(msg.id);
        pending?.resolve(msg);
        return;
      }
      case T.execute_reply: {
        this._input = null;
        const pending = this._pending.get(msg.id);
        this._pending.delete(msg.id);
        if (pending) pending.resolve({ reply: msg, outputs: pending.outputs });
        return;
      }
      default: {
        if (msg.type === T.input_request) this._input = msg.request || null;
        const pending = this._pending.get(msg.id);
        if (pending) {
          pending.outputs.push(msg);
          pending.onOutput?.(msg);
        }
        this.dispatchEvent(new CustomEvent("output", { detail: msg }));
      }
    }
  }

  _die(message, phase, hint) {
    const dead = this.protocol.states.dead;
    if (this.state === dead) return;
    clearTimeout(this._watchdog);
    this.state = dead;
    const error = new KernelDied(message, { phase, hint });
    this._rejectReady?.(error);
    for (const pending of this._pending.values()) pending.reject(error);
    this._pending.clear();
    this.worker?.terminate();
    const T = this.protocol.types;
    this.dispatchEvent(new CustomEvent(T.fatal, { detail: { message, phase, hint } }));
    this.dispatchEvent(new CustomEvent(T.status, { detail: { state: dead, detail: message } }));
  }

  /** Run a cell. Resolves with {reply, outputs}; rejects with KernelDied if the worker dies. */
  async execute(code, { onOutput } = {}) {
    await this.start();
    const id = `cell-${++this._nextId}`;
    const done = new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, outputs: [], onOutput, cell: true });
    });
    this.worker.postMessage(this.protocol.make(this.protocol.types.execute, { id, code }));
    return done;
  }

  /**
   * Send a widget's comm message (P.types.comm_open, comm_msg or comm_close) to the kernel; the
   * kernel's comm messages come back as `output` events. Returns the message id: outputs of
   * the handler it runs carry it (an Output widget captures them by it).
   */
  sendComm(type, fields) {
    const id = `comm-${++this._nextId}`;
    this.worker?.postMessage(this.protocol.make(type, { id, ...fields }));
    return id;
  }

  /**
   * Answer the running cell's input() or getpass() (an input_request output asked for it).
   * Isolated page: through the shared stdin buffer, at once. Otherwise: posted to the bento
   * server where the worker waits (the returned promise settles when the server has it).
   */
  sendInput(value) {
    if (!this.stdinBuffer) {
      const request = this._input;
      this._input = null;
      if (!request) {
        throw new Error("no input() is waiting for an answer" + (this.options.stdin ? "" :
          " (without cross-origin isolation, input() needs the bento server: BentoKernel's stdin option)"));
      }
      return this._postStdin(request, { value: String(value) });
    }
    const state = new Int32Array(this.stdinBuffer, 0, 2);
    const bytes = new TextEncoder().encode(String(value)).slice(0, STDIN_BYTES);
    new Uint8Array(this.stdinBuffer, 8).set(bytes);
    Atomics.store(state, 1, bytes.length);
    Atomics.store(state, 0, 1);
    Atomics.notify(state, 0);
    return Promise.resolve(true);
  }

  /** POST an answer ({value}) or an interrupt ({interrupt: true}) to input() `request`'s wait. */
  async _postStdin(request, body) {
    const { url, token, session } = this.options.stdin;
    const target = `${url}/bento/api/stdin/${encodeURIComponent(session)}/${encodeURIComponent(request)}`;
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `token ${token}`;
    let response;
    try {
      response = await fetch(target, { method: "POST", headers, body: JSON.stringify(body) });
    } catch (err) {
      throw new Error(`cannot reach the bento server at ${url} to answer input(): ${err.message}; ` +
        `check that it runs and allows this page (--BentoApp.page_origins=${globalThis.location.origin})`);
    }
    if (!response.ok) {
      const reason = await response.json().then((b) => b.message, () => `HTTP ${response.status}`);
      throw new Error(`the bento server at ${url} did not take the answer to input(): ${reason}`);
    }
    return true;
  }

  /** A cell (or, with transfers, an Arrow transfer) is in the worker: it answers nothing else until it ends. */
  _busy({ transfers = true } = {}) {
    for (const [id, pending] of this._pending) {
      if (pending.cell || (transfers && id.startsWith("transfer-"))) return true;
    }
    return false;
  }

  /** Ask the worker `type` (complete/inspect/is_complete request); resolves with its reply. */
  async _ask(type, fields) {
    await this.start();
    const id = `ask-${++this._nextId}`;
    // Python is busy with a cell: answer at once with nothing, as JupyterLab shows nothing
    // while its kernel is busy, instead of an editor waiting for the cell to end.
    if (this._busy()) return busyReply(this.protocol, type, { id, ...fields });
    const done = new Promise((resolve, reject) => this._pending.set(id, { resolve, reject, outputs: [] }));
    this.worker.postMessage(this.protocol.make(type, { id, ...fields }));
    return done;
  }

  /** Completions at cursorPos (code points): Jupyter's complete_reply content. */
  complete(code, cursorPos) {
    return this._ask(this.protocol.types.complete_request, { code, cursor_pos: cursorPos });
  }

  /** Help on the name at cursorPos: Jupyter's inspect_reply content (data is a mime bundle). */
  inspect(code, cursorPos, detailLevel = 0) {
    return this._ask(this.protocol.types.inspect_request, { code, cursor_pos: cursorPos, detail_level: detailLevel });
  }

  /** complete, incomplete (with indent), invalid or unknown: Jupyter's is_complete_reply content. */
  isComplete(code) {
    return this._ask(this.protocol.types.is_complete_request, { code });
  }

  /**
   * Interrupt running Python (KeyboardInterrupt). Needs cross-origin isolation, except for an
   * input() waiting through the bento server (the interrupt is posted there); false if it cannot.
   */
  interrupt() {
    this.remoteInterrupt = interruptRemote(this.options); // a remote call in progress stops too
    if (!this.interruptBuffer) {
      const request = this._input;
      this._input = null;
      if (!request) return false;
      this.inputInterrupt = this._postStdin(request, { interrupt: true }).catch((err) => {
        console.warn("interrupting input() failed", err);
        return false;
      });
      return true;
    }
    // Only while a cell runs or waits: the worker keeps a signal pending until Python runs. A
    // completion, inspection or transfer has no cell to stop; the signal would stop the next
    // cell at once.
    if (this._busy({ transfers: false })) Atomics.store(new Int32Array(this.interruptBuffer), 0, 2); // 2 = SIGINT
    return true;
  }

  /** Kill the worker and start a fresh one; the namespace is lost. */
  async restart() {
    this.shutdown("the kernel was restarted");
    this.state = "unstarted";
    this._spawn();
    return this._ready;
  }

  shutdown(reason = "the kernel was shut down") {
    clearTimeout(this._watchdog);
    const error = new KernelDied(reason, { phase: "restart" });
    for (const pending of this._pending.values()) pending.reject(error);
    this._pending.clear();
    this.worker?.terminate();
    this.worker = null;
    this.state = this.protocol ? this.protocol.states.dead : "unstarted";
  }
}

// injectArrow, injectBytes, fetchArrow, exportArrow (worker_js/kernel_arrow.js).
Object.assign(BentoKernel.prototype, arrowMethods);
