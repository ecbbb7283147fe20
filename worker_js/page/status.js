// The kernel status area: state, start-up progress while Pyodide loads, and the background
// preload of pandas/pyarrow (a plain cell can run before it ends).

// Start-up phases of the serverless kernel, in order (protocol states).
const PHASES = ["starting", "loading_runtime", "installing", "idle"];
const LABELS = {
  unstarted: "no kernel",
  starting: "starting",
  loading_runtime: "loading Pyodide",
  installing: "installing bento_wasm",
  idle: "idle",
  busy: "busy",
  dead: "dead",
};

export class StatusBar {
  constructor(P, config) {
    this.P = P;
    this.config = config;
    this.node = document.getElementById("kernel-status");
    this.text = document.getElementById("status-text");
    this.progress = document.getElementById("progress");
    this.preload = document.getElementById("preload");
    this.kernel = null;
    this.history = []; // every status event of the current kernel, for tests and the console
    this._onStatus = (e) => {
      this.history.push(e.detail);
      this.show(e.detail);
    };
  }

  attach(kernel, kind) {
    this.kernel?.removeEventListener(this.P.types.status, this._onStatus);
    this.kernel = kernel;
    this.kind = kind;
    this.booted = false;
    this.history = [];
    this.preload.hidden = true;
    this.preload.classList.remove("done");
    this.preload.textContent = "";
    if (!kernel) {
      this.set("unstarted", kind === "none" ? "no kernel (choose one)" : "");
      this.progress.hidden = true;
      return;
    }
    kernel.addEventListener(this.P.types.status, this._onStatus);
    this.set("starting", "");
  }

  set(state, detail) {
    this.node.dataset.state = state;
    this.text.textContent = `${LABELS[state] || state}${detail ? ` — ${detail}` : ""}`;
  }

  show({ state, detail, elapsed_s: elapsed }) {
    const S = this.P.states;
    const seconds = typeof elapsed === "number" ? ` (${elapsed.toFixed(1)} s)` : "";
    const phase = PHASES.indexOf(state);
    if (!this.booted && phase >= 0) {
      this.progress.hidden = state === S.idle;
      this.progress.value = phase;
      this.progress.max = PHASES.length - 1;
    }
    if (state === S.idle && !this.booted) {
      this.booted = true;
      const packages = this.kind === "serverless" ? this.config.preload || [] : [];
      if (packages.length) {
        this.preload.hidden = false;
        this.preload.textContent = `loading ${packages.join(", ")} in the background — plain cells run now`;
      }
      this.set(state, `ready${seconds}`);
      return;
    }
    if (detail && detail.startsWith("preloaded")) {
      this.preload.hidden = false;
      this.preload.textContent = detail;
      this.preload.classList.add("done");
    }
    if (state === S.busy) return this.set(state, "running");
    if (state === S.idle) return this.set(state, "");
    this.set(state, `${detail || ""}${seconds}`);
  }
}
