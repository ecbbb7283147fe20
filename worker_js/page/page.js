// The bento notebook page (served at /bento/). URL parameters:
//   token=...   the Jupyter Server token (the URL `./dev run` prints carries it)
//   path=...    the notebook to open (default: config.json's `notebook`, the demo)
//   kernel=serverless|server|none   which kernel to start (none: start nothing, for tests/embedding)
import "./page.css";
import { loadProtocol } from "../kernel/protocol.js";
import { Contents } from "./contents.js";
import { KERNELS, NO_KERNEL, createKernel } from "./kernels.js";
import { DEFAULT_METADATA } from "./ipynb.js";
import { Notebook } from "./notebook.js";
import { MemoryMeter } from "./memory.js";
import { Scheduler } from "./schedule.js";
import { StatusBar } from "./status.js";
import { liveRenderers } from "./outputs.js";
import { Widgets } from "./widgets_glue.js";

const $ = (id) => document.getElementById(id);

async function fetchConfig() {
  const response = await fetch("./config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`cannot load ./config.json (HTTP ${response.status}); is the bento server running?`);
  return response.json();
}

class Page {
  constructor(config, P) {
    const params = new URLSearchParams(location.search);
    this.config = config;
    this.P = P;
    this.params = params;
    this.token = params.get("token") || "";
    this.baseUrl = new URL("..", location.href).pathname; // the page lives at <base_url>bento/
    this.contents = new Contents(this.baseUrl, this.token);
    this.notebook = new Notebook({ P, container: $("cells"), contents: this.contents });
    this.status = new StatusBar(P, config);
    this.memory = new MemoryMeter(P, $("memory-meter"));
    this.kernel = null;
    this.kind = NO_KERNEL;
    this.widgets = new Widgets(P);
    liveRenderers.set(P.mimeTypes.widget_view, (box, spec, data) =>
      this.widgets.render(box, spec, data["text/plain"]));
    this._wire();
    this.scheduler = new Scheduler(this);
  }

  _wire() {
    const select = $("kernel-select");
    for (const [kind, spec] of Object.entries(KERNELS)) select.append(new Option(spec.label, kind));
    select.append(new Option("No kernel", NO_KERNEL));
    select.addEventListener("change", () => this.switchKernel(select.value));
    $("run-all").addEventListener("click", () => this.notebook.runAll());
    $("interrupt").addEventListener("click", () => this.interrupt());
    $("restart").addEventListener("click", () => this.restart());
    $("add-cell").addEventListener("click", () => this.notebook.insertCell(null, { cell_type: "code" }));
    $("add-markdown").addEventListener("click", () => this.notebook.insertCell(null, { cell_type: "markdown" }));
    $("save").addEventListener("click", () => this.save());
    $("open").addEventListener("click", () => this.open($("path").value.trim()));
    $("path").addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.open($("path").value.trim());
    });
    document.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") {
        e.preventDefault();
        this.save();
      }
    });
    this.notebook.addEventListener("changed", (e) => {
      const { path, dirty } = e.detail;
      document.title = `${dirty ? "● " : ""}${path || "untitled"} — bento`;
      $("dirty").textContent = dirty ? "unsaved changes" : "saved";
    });
    window.addEventListener("beforeunload", (e) => {
      if (this.notebook.dirty) e.preventDefault(); // the browser asks before unsaved work is lost
    });
    window.addEventListener("pagehide", () => this.kernel?.shutdownOnUnload?.());
  }

  banner(text, { kind = "info", actions = [] } = {}) {
    const box = $("banner");
    box.replaceChildren();
    box.className = text ? `banner banner-${kind}` : "banner";
    if (!text) return;
    const span = document.createElement("span");
    span.textContent = text;
    box.append(span);
    for (const [label, action] of actions) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = label;
      b.addEventListener("click", () => {
        this.banner("");
        action();
      });
      box.append(b);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "close";
    close.textContent = "✕";
    close.title = "Dismiss";
    close.addEventListener("click", () => this.banner(""));
    box.append(close);
  }

  async open(path) {
    if (!path) return;
    try {
      await this.notebook.open(path);
      await this.widgets.open(this.notebook.metadata);
      $("path").value = path;
      this._setParam("path", path);
      if (this.notebook.warning) {
        this.banner(`${path} does not validate as a Jupyter notebook: ${this.notebook.warning}. ` +
          "It opened with everything kept; fix the file, or save it as shown.", { kind: "warning" });
      } else {
        this.banner("");
      }
    } catch (err) {
      if (err.status === 404) {
        this.notebook.path = path;
        this.notebook.load({ cells: [], metadata: structuredClone(DEFAULT_METADATA) });
        $("path").value = path;
        this.banner(`${path} does not exist yet: this is a new notebook, Save creates it.`);
      } else {
        this.banner(`Cannot open ${path}: ${err.message}`, { kind: "alert" });
      }
    }
  }

  async save() {
    const path = $("path").value.trim() || this.notebook.path;
    try {
      await this.widgets.saveInto(this.notebook.metadata);
      await this.notebook.save(path);
      this._setParam("path", path);
      this.banner(`Saved ${path}.`);
    } catch (err) {
      this.banner(`Cannot save: ${err.message}`, { kind: "alert" });
    }
  }

  /** A run record (?record=1): read-only, no kernel, a banner naming the run, scrolled to the
   *  failing cell (?cell=N, its index in the record). */
  showRecord() {
    document.body.classList.add("record-view");
    for (const cell of this.notebook.cells) cell.setReadOnly();
    const meta = this.notebook.metadata.papermill || {};
    const status = (this.notebook.metadata.bento || {}).status || (meta.exception ? "failed" : "completed");
    const params = Object.entries(meta.parameters || {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
    this.banner(`Run record ${this.notebook.path} (read-only, no kernel): ${status}, started ` +
      `${meta.start_time || "?"}${params ? `, parameters ${params}` : ""}.`,
    { kind: status === "failed" ? "alert" : "info" });
    const index = Number(this.params.get("cell"));
    const target = this.params.has("cell") ? this.notebook.cells[index] : null;
    if (target) {
      target.node.classList.add("failing");
      target.node.scrollIntoView({ block: "center" });
    }
  }

  _setParam(name, value) {
    this.params.set(name, value);
    history.replaceState(null, "", `${location.pathname}?${this.params}`);
  }

  async switchKernel(kind) {
    $("kernel-select").value = kind;
    if (this.kernel) this.kernel.shutdown();
    this.kernel = null;
    this.kind = kind;
    this.notebook.setKernel(null);
    this.widgets.attach(null);
    this.status.attach(null, kind);
    this.memory.attach(null);
    this._setParam("kernel", kind);
    if (kind === NO_KERNEL) return null;
    const kernel = await createKernel(kind, {
      config: this.config, protocol: this.P, baseUrl: this.baseUrl, token: this.token,
      path: this.notebook.path || $("path").value.trim(), // the server kernel works in its folder
    });
    this.kernel = kernel;
    this.notebook.setKernel(kernel);
    this.widgets.attach(kernel);
    this.status.attach(kernel, kind);
    this.memory.attach(kernel, () => this.notebook.runningCell);
    kernel.addEventListener("output", (e) => this.notebook.applyUpdate(e.detail));
    kernel.addEventListener(this.P.types.fatal, (e) => {
      this.banner(`The kernel died: ${e.detail.message}. ${e.detail.hint || ""}`, {
        kind: "alert", actions: [["Restart kernel", () => this.restart()]],
      });
    });
    return kernel.start().catch(() => null); // the fatal event above has told the user
  }

  interrupt() {
    if (!this.kernel) return;
    if (this.notebook.interrupt()) return;
    const lost = KERNELS[this.kind].lost;
    this.banner("This page is not cross-origin isolated, so an interrupt cannot reach the running " +
      `Python. Restart the kernel instead? You lose ${lost}. Cells and outputs on the page stay.`, {
      kind: "warning", actions: [["Restart kernel", () => this.restart()]],
    });
  }

  async restart() {
    if (!this.kernel) return this.switchKernel(this.kind === NO_KERNEL ? "serverless" : this.kind);
    this.banner("");
    try {
      await this.notebook.restart();
    } catch (err) {
      this.banner(`Restart failed: ${err.message}`, { kind: "alert" });
    }
    return this.kernel;
  }
}

async function main() {
  let page;
  try {
    const config = await fetchConfig();
    const P = await loadProtocol(config.protocolURL);
    page = new Page(config, P);
  } catch (err) {
    $("banner").className = "banner banner-alert";
    $("banner").textContent = `The page cannot start: ${err.message}`;
    throw err;
  }
  window.bento = page; // for tests and the console
  const kind = page.params.get("kernel") || "serverless";
  const path = page.params.get("path") || page.config.notebook || "untitled.ipynb";
  $("path").value = path;
  const started = page.switchKernel(kind); // boots while the notebook loads
  await page.open(path);
  if (page.params.get("record") === "1") page.showRecord();
  page.ready = true;
  await started;
}

window.bentoReady = main();
window.bentoReady.catch((err) => console.error(err));
