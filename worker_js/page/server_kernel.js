// ServerKernel: an ipykernel on the Jupyter Server that serves the page, spoken to with the
// Jupyter kernel protocol through @jupyterlab/services, behind BentoKernel's interface:
// start/execute/interrupt/restart/shutdown, events status/output/fatal, and the same message
// shapes (worker protocol, built and checked with `P.make`). The page cannot tell them apart.
import { KernelManager, KernelMessage, ServerConnection, SessionManager } from "@jupyterlab/services";

const STATE_MAP = {
  unknown: "starting", starting: "starting", restarting: "starting", autorestarting: "starting",
  idle: "idle", busy: "busy", dead: "dead", terminating: "dead",
};

export class ServerKernel extends EventTarget {
  /**
   * options: {protocol (a Protocol), baseUrl, token, name = "python3",
   *           setup: code lines run silently after each (re)start, e.g. "%load_ext bento_wasm",
   *           path: the notebook's path on the server; as in JupyterLab, the kernel starts
   *           in a session for it, so its working directory is the notebook's folder}
   */
  constructor(options) {
    super();
    this.options = { name: "python3", setup: [], ...options };
    this.protocol = options.protocol;
    this.state = "unstarted";
    this.kind = "server";
    this.kernel = null;
    this._ready = null;
    this._nextId = 0;
    this.startedAt = performance.now();
    const settings = ServerConnection.makeSettings({
      baseUrl: options.baseUrl, token: options.token || "", appendToken: true,
    });
    this.manager = new KernelManager({ serverSettings: settings });
    this.sessions = new SessionManager({ kernelManager: this.manager, serverSettings: settings });
    this.session = null;
  }

  _status(state, detail = "") {
    const P = this.protocol;
    this.state = P.states[state];
    this.dispatchEvent(new CustomEvent(P.types.status, {
      detail: P.make(P.types.status, {
        state: this.state, detail, elapsed_s: (performance.now() - this.startedAt) / 1000,
      }),
    }));
  }

  _fatal(message, phase, hint) {
    const P = this.protocol;
    this._status("dead", message);
    this.dispatchEvent(new CustomEvent(P.types.fatal, { detail: { message, phase, hint } }));
  }

  async start() {
    if (!this._ready) this._ready = this._start();
    return this._ready;
  }

  async _start() {
    this.startedAt = performance.now();
    this._status("starting", `starting an ipykernel (${this.options.name}) on the server`);
    try {
      // A session (the sessions API), as JupyterLab starts one: the server starts the kernel
      // in the folder of `path`, so a relative file lands next to the notebook. The session's
      // path is the notebook's plus this page's own suffix: the server hands an existing
      // session of the same path to whoever asks, and the one a reloaded page deletes while
      // unloading may still exist then (its kernel shutting down), so each page has its own
      // kernel, as before (the folder is what the server takes from the path).
      const path = this.options.path || "untitled.ipynb";
      this.session = await this.sessions.startNew({
        path: `${path}#bento-${globalThis.crypto.randomUUID().slice(0, 8)}`, name: path.split("/").pop(),
        type: "notebook", kernel: { name: this.options.name },
      });
      this.kernel = this.session.kernel;
    } catch (err) {
      const message = `the server could not start a ${this.options.name} kernel: ${err.message}`;
      this._fatal(message, "starting", "Check the token in the page URL and that ipykernel is installed " +
        "on the server (pip install ipykernel), then pick the kernel again.");
      this._ready = null;
      throw Object.assign(new Error(message), { phase: "starting" });
    }
    this.kernel.statusChanged.connect((_, status) => {
      const state = STATE_MAP[status] || "starting";
      if (state === "dead" && this.state !== this.protocol.states.dead) {
        this._fatal("the server kernel died", "running", "Restart the kernel; its namespace is lost.");
      } else if (this.protocol.states[state] !== this.state) {
        this._status(state, status);
      }
    });
    // Display updates that outlive their cell (a background job's status) have no future
    // listening any more: pass them on as output events, as BentoKernel does.
    this.kernel.iopubMessage.connect((_, msg) => {
      if (!KernelMessage.isUpdateDisplayDataMsg(msg)) return;
      const update = this._toProtocol("", msg);
      if (update) this.dispatchEvent(new CustomEvent("output", { detail: update }));
    });
    await this._setup();
    this._status("idle", "ready");
    return { elapsed_s: (performance.now() - this.startedAt) / 1000 };
  }

  /** Run the setup lines (e.g. %load_ext bento_wasm); a failure shows on stderr of the next cell. */
  async _setup() {
    this.setupErrors = [];
    for (const code of this.options.setup) {
      const future = this.kernel.requestExecute({ code, silent: false, store_history: false });
      future.onIOPub = (msg) => {
        if (KernelMessage.isErrorMsg(msg)) this.setupErrors.push(`${code}: ${msg.content.ename}: ${msg.content.evalue}`);
      };
      await future.done.catch(() => {});
    }
  }

  _toProtocol(id, msg) {
    const P = this.protocol;
    const T = P.types;
    const c = msg.content;
    if (KernelMessage.isStreamMsg(msg)) return P.make(T.stream, { id, name: c.name, text: c.text });
    if (KernelMessage.isDisplayDataMsg(msg) || KernelMessage.isUpdateDisplayDataMsg(msg)) {
      const fields = { id, data: c.data, metadata: c.metadata || {},
        update: KernelMessage.isUpdateDisplayDataMsg(msg) };
      if (c.transient?.display_id) fields.display_id = c.transient.display_id;
      return P.make(T.display_data, fields);
    }
    if (KernelMessage.isExecuteResultMsg(msg)) {
      return P.make(T.execute_result, { id, execution_count: c.execution_count, data: c.data,
        metadata: c.metadata || {} });
    }
    if (KernelMessage.isErrorMsg(msg)) {
      return P.make(T.error, { id, ename: c.ename, evalue: c.evalue, traceback: c.traceback });
    }
    if (KernelMessage.isClearOutputMsg(msg)) return P.make(T.clear_output, { id, wait: Boolean(c.wait) });
    return null; // status, execute_input, comms: not outputs
  }

  /** Run a cell. Resolves with {reply, outputs} in the worker protocol's shapes. */
  async execute(code, { onOutput } = {}) {
    await this.start();
    const P = this.protocol;
    const id = `cell-${++this._nextId}`;
    const outputs = [];
    const emit = (msg) => {
      outputs.push(msg);
      onOutput?.(msg);
      this.dispatchEvent(new CustomEvent("output", { detail: msg }));
    };
    if (this.setupErrors?.length) {
      emit(P.make(P.types.stream, { id, name: "stderr",
        text: `kernel setup failed: ${this.setupErrors.join("; ")}\n` }));
      this.setupErrors = [];
    }
    const t0 = performance.now();
    const future = this.kernel.requestExecute({ code, stop_on_error: true, allow_stdin: true });
    future.onIOPub = (msg) => {
      if (this.captured?.(msg)) return; // an Output widget shows it (widgets_glue.js)
      const out = this._toProtocol(id, msg);
      if (out) emit(out);
    };
    // input()/getpass(): ipykernel asks on the stdin channel; sendInput answers (input_reply).
    future.onStdin = (msg) => {
      if (!KernelMessage.isInputRequestMsg(msg)) return;
      this._stdin = { future, parent: msg.header };
      emit(P.make(P.types.input_request, { id, prompt: msg.content.prompt, password: Boolean(msg.content.password) }));
    };
    let reply;
    try {
      reply = await future.done;
    } catch (err) {
      throw Object.assign(new Error(`the server kernel did not answer: ${err.message}`), { phase: "running" });
    }
    // Help (`len?`) comes as a pager payload; like JupyterLab, show it in the cell's output.
    for (const payload of reply.content.payload || []) {
      if (payload.source === "page" && payload.data) {
        emit(P.make(P.types.display_data, { id, data: payload.data, metadata: {}, update: false }));
      }
    }
    const status = P.replyStatuses[reply.content.status] ? reply.content.status : P.replyStatuses.error;
    return {
      reply: P.make(P.types.execute_reply, { id, status, execution_count: reply.content.execution_count ?? 0,
        duration_ms: performance.now() - t0 }),
      outputs,
    };
  }

  /** Answer the running cell's input() or getpass(). */
  sendInput(value) {
    const pending = this._stdin;
    this._stdin = null;
    if (!pending) throw new Error("no input() is waiting for an answer");
    pending.future.sendInputReply({ status: this.protocol.replyStatuses.ok, value: String(value) }, pending.parent);
  }

  /** Completions at cursorPos (code points), from ipykernel's complete_reply. */
  async complete(code, cursorPos) {
    await this.start();
    const c = (await this.kernel.requestComplete({ code, cursor_pos: cursorPos })).content;
    const S = this.protocol.replyStatuses;
    const ok = c.status === S.ok;
    return this.protocol.make(this.protocol.types.complete_reply, {
      id: `ask-${++this._nextId}`, status: ok ? S.ok : S.error, matches: ok ? c.matches : [],
      cursor_start: c.cursor_start ?? cursorPos, cursor_end: c.cursor_end ?? cursorPos, metadata: c.metadata || {},
    });
  }

  /** Help on the name at cursorPos, from ipykernel's inspect_reply. */
  async inspect(code, cursorPos, detailLevel = 0) {
    await this.start();
    const c = (await this.kernel.requestInspect({ code, cursor_pos: cursorPos, detail_level: detailLevel })).content;
    const S = this.protocol.replyStatuses;
    const ok = c.status === S.ok;
    return this.protocol.make(this.protocol.types.inspect_reply, {
      id: `ask-${++this._nextId}`, status: ok ? S.ok : S.error, found: ok && Boolean(c.found),
      data: ok ? c.data || {} : {}, metadata: (ok && c.metadata) || {},
    });
  }

  /** ipykernel's is_complete_reply. */
  async isComplete(code) {
    await this.start();
    const c = (await this.kernel.requestIsComplete({ code })).content;
    const fields = { id: `ask-${++this._nextId}`, status: c.status };
    if (c.status === "incomplete") fields.indent = c.indent || "";
    return this.protocol.make(this.protocol.types.is_complete_reply, fields);
  }

  /** Interrupt through the server (SIGINT to the kernel process). Always possible. */
  interrupt() {
    this.kernel?.interrupt().catch((err) => console.warn("interrupt failed", err));
    return Boolean(this.kernel);
  }

  async restart() {
    if (!this.kernel) return this.start();
    this.startedAt = performance.now();
    this._status("starting", "restarting the server kernel");
    await this.kernel.restart();
    await this._setup();
    this._status("idle", "ready");
    return { elapsed_s: (performance.now() - this.startedAt) / 1000 };
  }

  /** Shut the kernel down while the page unloads (a keepalive request outlives the page). */
  shutdownOnUnload() {
    if (!this.kernel) return;
    const headers = this.options.token ? { Authorization: `token ${this.options.token}` } : {};
    // Deleting the session shuts its kernel down too.
    const target = this.session ? `api/sessions/${this.session.id}` : `api/kernels/${this.kernel.id}`;
    fetch(`${this.options.baseUrl}${target}`, { method: "DELETE", headers, keepalive: true }).catch(() => {});
    this.kernel = null;
    this.session = null;
  }

  shutdown() {
    const kernel = this.kernel;
    const session = this.session;
    this.kernel = null;
    this.session = null;
    this._ready = null;
    this.state = this.protocol.states.dead;
    if (session) session.shutdown().catch(() => {});
    else if (kernel) kernel.shutdown().catch(() => {});
  }
}
