// ipywidgets in the page: @jupyter-widgets/html-manager renders widget views, and their comms
// go to the kernel, both ways: through BentoKernel (serverless: the worker protocol's comm_*
// messages) or through @jupyterlab/services' KernelConnection (Server kernel). Loaded on
// demand (widgets_glue.js): a notebook without widgets never loads it.
//
// The Output widget (what `interact` draws into) captures, as JupyterLab's does, every output
// whose parent id is its msg_id: the kernel sets msg_id to the running cell's id (serverless)
// or request's msg_id (Server kernel) while code runs inside `with out:`.
import { HTMLManager } from "@jupyter-widgets/html-manager/lib/htmlmanager";
import { OutputModel, OutputView } from "@jupyter-widgets/html-manager/lib/output";
import { shims } from "@jupyter-widgets/base";
import "@lumino/widgets/style/index.css";
import "@jupyter-widgets/controls/css/widgets-base.css";
import "@jupyter-widgets/controls/css/labvariables.css";

function toBase64(buffer) {
  const bytes = buffer instanceof ArrayBuffer ? new Uint8Array(buffer)
    : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function fromBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return new DataView(bytes.buffer);
}

/** An Output widget that captures the kernel's outputs while its msg_id is set. */
class CapturingOutputModel extends OutputModel {
  initialize(attributes, options) {
    super.initialize(attributes, options);
    this._clearOnNext = false;
    this.listenTo(this, "change:msg_id", () => this.widget_manager.capture(this, this.get("msg_id")));
    this.widget_manager.capture(this, this.get("msg_id"));
  }

  /** One nbformat output (or clear_output) from the kernel, for this widget. */
  addOutput(output) {
    if (output === null) return;
    if (output.clear) {
      if (output.wait) this._clearOnNext = true;
      else this._setOutputs([]);
      return;
    }
    const previous = this._clearOnNext ? [] : this.get("outputs");
    this._clearOnNext = false;
    this._setOutputs([...previous, output]);
  }

  _setOutputs(outputs) {
    this.set("outputs", outputs); // setOutputs (html-manager) redraws the area from the list
    this.save_changes(); // the kernel's Output.outputs follows, as in JupyterLab
  }
}

const outputModule = { OutputModel: CapturingOutputModel, OutputView };

/** A comm over BentoKernel: what the widget models call (@jupyter-widgets/base's IClassicComm). */
class BentoComm {
  constructor(manager, commId, targetName) {
    this.manager = manager;
    this.comm_id = commId;
    this.target_name = targetName;
    this._onMsg = null;
    this._onClose = null;
  }

  _send(type, data, callbacks, metadata, buffers) {
    const fields = { comm_id: this.comm_id, data: data || {}, metadata: metadata || {} };
    if (type === this.manager.P.types.comm_open) fields.target_name = this.target_name;
    if (buffers?.length) fields.buffers = buffers.map(toBase64);
    const id = this.manager.kernel.sendComm(type, fields);
    this.manager.expectIdle(id, callbacks);
    return id;
  }

  open(data, callbacks, metadata, buffers) {
    return this._send(this.manager.P.types.comm_open, data, callbacks, metadata, buffers);
  }

  send(data, callbacks, metadata, buffers) {
    return this._send(this.manager.P.types.comm_msg, data, callbacks, metadata, buffers);
  }

  close(data, callbacks, metadata, buffers) {
    this.manager.comms.delete(this.comm_id);
    return this._send(this.manager.P.types.comm_close, data, callbacks, metadata, buffers);
  }

  on_msg(callback) {
    this._onMsg = callback;
  }

  on_close(callback) {
    this._onClose = callback;
  }
}

/**
 * An output message -> nbformat output for an Output widget, or {clear, wait} for clear_output.
 * Worker protocol messages and Jupyter's iopub messages name these types alike (P.types).
 */
function outputOf(P, type, c) {
  const T = P.types;
  switch (type) {
    case T.stream:
      return { output_type: type, name: c.name, text: c.text };
    case T.display_data:
      return { output_type: type, data: c.data, metadata: c.metadata || {} };
    case T.execute_result:
      return { output_type: type, execution_count: c.execution_count, data: c.data, metadata: c.metadata || {} };
    case T.error:
      return { output_type: type, ename: c.ename, evalue: c.evalue, traceback: c.traceback };
    case T.clear_output:
      return { clear: true, wait: Boolean(c.wait) };
    default:
      return null;
  }
}

export class WidgetManager extends HTMLManager {
  /** P: the worker Protocol; kernel: a BentoKernel, a ServerKernel, or null (saved state only). */
  constructor(P, kernel) {
    super({ loader: (name, version) => Promise.reject(new Error(
      `the widget module ${name}@${version} is not bundled with the bento page (it has ` +
      "@jupyter-widgets/base, controls and output); run the notebook in JupyterLab to see it")) });
    this.P = P;
    this.kernel = kernel;
    this.comms = new Map(); // comm_id -> BentoComm (serverless)
    this.captures = new Map(); // parent msg id -> capturing Output model
    this._idle = new Map(); // comm message id -> its callbacks (serverless)
    this._running = null;
    this._waiters = new Map(); // model_id -> [resolve] for views shown before their model exists
  }

  loadClass(className, moduleName, moduleVersion) {
    if (moduleName === "@jupyter-widgets/output") return Promise.resolve(outputModule[className]);
    return super.loadClass(className, moduleName, moduleVersion);
  }

  register_model(modelId, modelPromise) {
    super.register_model(modelId, modelPromise);
    for (const resolve of this._waiters.get(modelId) || []) resolve();
    this._waiters.delete(modelId);
  }

  /** The model `modelId` once it exists (a saved view waits for the saved state to load). */
  whenModel(modelId) {
    if (this.has_model(modelId)) return Promise.resolve();
    return new Promise((resolve) => {
      this._waiters.set(modelId, [...(this._waiters.get(modelId) || []), resolve]);
    });
  }

  /** Show the view of widget-view+json `spec` in `box`. */
  async render(box, spec) {
    await this.whenModel(spec.model_id);
    const model = await this.get_model(spec.model_id);
    const view = await this.create_view(model);
    box.replaceChildren();
    box.classList.add("widget-area");
    await this.display_view(view, box);
  }

  // ---- the Output widget's capture ---------------------------------------------------------
  capture(model, msgId) {
    for (const [id, captured] of this.captures) if (captured === model) this.captures.delete(id);
    if (msgId) this.captures.set(msgId, model);
  }

  isCaptured(parentId) {
    return Boolean(parentId) && this.captures.has(parentId);
  }

  // ---- serverless: BentoKernel's comm messages ---------------------------------------------
  _create_comm(targetName, modelId, data, metadata, buffers) {
    if (!this.kernel || this.kernel.kind !== "serverless") return super._create_comm(targetName, modelId);
    const comm = new BentoComm(this, modelId, targetName);
    this.comms.set(modelId, comm);
    if (data || metadata) comm.open(data, {}, metadata, buffers);
    return Promise.resolve(comm);
  }

  /** The status callback ipywidgets throttles its updates with: called when the kernel has
   *  handled the comm message `id` (the worker reports busy with the id, then idle). */
  expectIdle(id, callbacks) {
    if (callbacks?.iopub?.status) this._idle.set(id, callbacks.iopub.status);
  }

  /** Every message of a BentoKernel (its `output` events and status). */
  onBentoMessage(msg) {
    const T = this.P.types;
    if (msg.type === T.status) {
      if (msg.state === this.P.states.busy) this._running = msg.detail;
      if (msg.state === this.P.states.idle && this._running) {
        const done = this._idle.get(this._running);
        this._idle.delete(this._running);
        this._running = null;
        done?.({ content: { execution_state: "idle" } });
      }
      return;
    }
    const buffers = (msg.buffers || []).map(fromBase64);
    const wrapped = { content: { comm_id: msg.comm_id, target_name: msg.target_name, data: msg.data || {} },
      metadata: msg.metadata || {}, buffers, parent_header: { msg_id: msg.id } };
    if (msg.type === T.comm_open) {
      const comm = new BentoComm(this, msg.comm_id, msg.target_name);
      this.comms.set(msg.comm_id, comm);
      this.handle_comm_open(comm, wrapped).catch((err) => console.error("widget comm_open failed", err));
    } else if (msg.type === T.comm_msg) {
      this.comms.get(msg.comm_id)?._onMsg?.(wrapped);
    } else if (msg.type === T.comm_close) {
      const comm = this.comms.get(msg.comm_id);
      this.comms.delete(msg.comm_id);
      comm?._onClose?.(wrapped);
    } else if (this.isCaptured(msg.id)) {
      this.captures.get(msg.id).addOutput(outputOf(this.P, msg.type, msg));
    }
  }

  // ---- Server kernel: @jupyterlab/services' comms ------------------------------------------
  /** A comm the Server kernel opened on the widget target (KernelConnection.registerCommTarget). */
  openServerComm(comm, msg) {
    return this.handle_comm_open(new shims.services.Comm(comm), msg);
  }

  /** Outputs of the Server kernel whose parent is captured go to their Output widget. */
  listenServer(connection) {
    if (this._listening === connection) return;
    this._listening = connection;
    connection.iopubMessage.connect((_, msg) => {
      const parent = msg.parent_header?.msg_id;
      if (this.isCaptured(parent)) this.captures.get(parent).addOutput(outputOf(this.P, msg.header.msg_type, msg.content));
    });
  }

  /** Widget state for the notebook's metadata (nbformat's widget-state, as JupyterLab saves it). */
  async savedState() {
    return this.get_state({ drop_defaults: true });
  }
}
