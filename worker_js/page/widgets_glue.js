// The page's side of ipywidgets, light: it loads widgets.js (html-manager and the widget
// controls, most of a megabyte) only when a kernel opens a widget's comm, a notebook shows a
// widget output, or a notebook has saved widget state. One WidgetManager per kernel.
export const WIDGET_TARGET = "jupyter.widget";

export class Widgets {
  constructor(P) {
    this.P = P;
    this.kernel = null;
    this.manager = null;
    this.saved = null; // the notebook's saved widget state, shown when no kernel has the widget
    this._module = null;
    this._chain = Promise.resolve();
    this._queued = 0; // messages waiting for widgets.js to load: later ones queue behind them
  }

  _load() {
    this._module ??= import("./widgets.js");
    return this._module;
  }

  /** The manager for the current kernel, created (with the saved state) on first use. */
  async managerFor(kernel) {
    const { WidgetManager } = await this._load();
    if (!this.manager || this.manager.kernel !== kernel) {
      const manager = new WidgetManager(this.P, kernel);
      this.manager = manager;
      if (kernel?.kind === "server" && kernel.kernel) manager.listenServer(kernel.kernel);
      if (this.saved) await manager.set_state(this.saved).catch((err) => console.error("saved widget state", err));
    }
    return this.manager;
  }

  /** Follow `kernel` (null: none): its comm messages, and which outputs an Output widget takes. */
  attach(kernel) {
    this.kernel = kernel;
    this.manager = null;
    if (!kernel) return;
    const T = this.P.types;
    const server = kernel.kind === "server";
    // Asked by the notebook (serverless: a worker message) and by ServerKernel (a Jupyter message).
    kernel.captured = (msg) => Boolean(this.manager?.isCaptured(server ? msg.parent_header?.msg_id : msg.id));
    if (server) {
      kernel.start().then(() => kernel.kernel.registerCommTarget(WIDGET_TARGET, async (comm, msg) => {
        const manager = await this.managerFor(kernel);
        manager.listenServer(kernel.kernel); // once per connection (it may predate the kernel)
        return manager.openServerComm(comm, msg);
      })).catch(() => {}); // a kernel that cannot start says so itself
      return;
    }
    const comm = new Set([T.comm_open, T.comm_msg, T.comm_close]);
    const deliver = (event) => {
      const msg = event.detail;
      if (this.kernel !== kernel) return;
      if (!this.manager && !comm.has(msg.type) && !this._queued) return; // no widget yet
      if (this.manager?.kernel === kernel && !this._queued) {
        this.manager.onBentoMessage(msg);
        return;
      }
      this._queued += 1;
      this._chain = this._chain
        .then(async () => (await this.managerFor(kernel)).onBentoMessage(msg))
        .catch((err) => console.error("widget message failed", err))
        .finally(() => {
          this._queued -= 1;
        });
    };
    kernel.addEventListener("output", deliver);
    kernel.addEventListener(T.status, deliver);
  }

  /** Render a widget-view+json output into `box` (it shows `fallback` text until then). */
  render(box, spec, fallback) {
    box.textContent = fallback || "";
    this.managerFor(this.kernel)
      .then((manager) => manager.render(box, spec))
      .catch((err) => {
        box.textContent = `${fallback || ""}\n(the widget cannot be shown: ${err.message || err})`;
      });
  }

  /** An opened notebook's metadata: keep its saved widget state for its outputs' views. */
  async open(metadata) {
    const state = metadata?.widgets?.[this.P.mimeTypes.widget_state];
    this.saved = state && Object.keys(state.state || {}).length ? state : null;
    if (this.saved && this.manager) await this.manager.set_state(this.saved);
  }

  /** Before saving: the widget state into the notebook metadata, as JupyterLab writes it. */
  async saveInto(metadata) {
    if (!this.manager) return;
    const state = await this.manager.savedState();
    metadata.widgets = { ...(metadata.widgets || {}), [this.P.mimeTypes.widget_state]: state };
  }
}
