// The notebook: an ordered list of cells, the kernel that runs them, and the file they live in.
// Kernel-agnostic: it only uses the page-side kernel interface (see kernels.js).
import { badgeForSource } from "./badges.js";
import { Cell } from "./cell.js";
import { fromIpynb, outputFromMessage, toIpynb } from "./ipynb.js";

/** The server's validation message, cut to the problem (it goes on with the offending JSON). */
export function validationProblem(message) {
  if (!message) return "";
  const problem = message.split(":\n")[0].replace(/^Notebook validation failed: /, "");
  return problem.length > 400 ? `${problem.slice(0, 400)}...` : problem;
}

export class Notebook extends EventTarget {
  /** P: the worker Protocol; container: where cells go; contents: a Contents client. */
  constructor({ P, container, contents }) {
    super();
    this.P = P;
    this.container = container;
    this.contents = contents;
    this.cells = [];
    this.metadata = {};
    this.path = "";
    this.warning = "";
    this.kernel = null;
    this.runningCell = null;
    this.dirty = false;
    this._queue = Promise.resolve();
    this._generation = 0; // bumped by interrupt/restart: queued cells of an older run are skipped
  }

  // ---- cells --------------------------------------------------------------------------------
  load({ cells, metadata }) {
    for (const cell of this.cells) cell.node.remove();
    this.cells = [];
    this.metadata = metadata || {};
    for (const data of cells) this._append(new Cell(this, data));
    if (!this.cells.length) this._append(new Cell(this, { cell_type: "code", source: "" }));
    this.dirty = false;
    this._changed();
  }

  _append(cell, index = this.cells.length) {
    this.cells.splice(index, 0, cell);
    const next = this.cells[index + 1];
    if (next) this.container.insertBefore(cell.node, next.node);
    else this.container.append(cell.node);
  }

  insertCell(after, data) {
    const index = after ? this.cells.indexOf(after) + 1 : this.cells.length;
    const cell = new Cell(this, { cell_type: "code", source: "", ...data });
    this._append(cell, index);
    cell.focus();
    this.markDirty();
    return cell;
  }

  deleteCell(cell) {
    const index = this.cells.indexOf(cell);
    if (index < 0) return;
    this.cells.splice(index, 1);
    cell.node.remove();
    if (!this.cells.length) this.insertCell(null, {});
    this.markDirty();
  }

  moveCell(cell, delta) {
    const index = this.cells.indexOf(cell);
    const target = index + delta;
    if (index < 0 || target < 0 || target >= this.cells.length) return;
    this.cells.splice(index, 1);
    cell.node.remove();
    this._append(cell, target);
    this.markDirty();
  }

  markDirty() {
    if (this.dirty) return;
    this.dirty = true;
    this._changed();
  }

  _changed() {
    this.dispatchEvent(new CustomEvent("changed", { detail: { path: this.path, dirty: this.dirty } }));
  }

  // ---- running ------------------------------------------------------------------------------
  setKernel(kernel) {
    this.kernel = kernel;
    this._generation += 1;
  }

  /** Queue one cell; resolves with the reply status (P.replyStatuses: ok, error, aborted). */
  runCell(cell, { advance = false } = {}) {
    if (advance) this._advance(cell);
    if (cell.type !== "code") {
      cell.renderMarkdown();
      return Promise.resolve(this.P.replyStatuses.ok);
    }
    const generation = this._generation;
    cell.setQueued();
    const run = this._queue.then(() => (generation === this._generation
      ? this._execute(cell)
      : this._skip(cell)));
    this._queue = run.catch(() => {});
    return run;
  }

  _advance(cell) {
    const index = this.cells.indexOf(cell);
    const next = this.cells[index + 1] || this.insertCell(cell, {});
    next.focus();
  }

  _skip(cell) {
    cell.node.classList.remove("queued");
    cell.setPrompt(cell.executionCount);
    return this.P.replyStatuses.aborted;
  }

  async _execute(cell) {
    const P = this.P;
    cell.node.classList.remove("queued");
    if (!this.kernel) {
      cell.outputs.set([{ output_type: P.types.stream, name: "stderr",
        text: "No kernel: choose one in the kernel menu, then run the cell again.\n" }]);
      cell.setPrompt(cell.executionCount);
      return P.replyStatuses.aborted;
    }
    cell.outputs.clear();
    // As in JupyterLab: outputs of code the user runs are trusted, so saving signs the notebook
    // (the server strips this key from the file; opened again, it shows trusted).
    cell.metadata = { ...cell.metadata, trusted: true };
    cell.setPrompt(null, true);
    for (const key of ["offload", "mem"]) cell.setBadge(key, "");
    badgeForSource(cell);
    this.dispatchEvent(new CustomEvent("cell-start", { detail: { cell } }));
    let status;
    this.runningCell = cell;
    try {
      const { reply } = await this.kernel.execute(cell.source, { onOutput: (msg) => this.onMessage(cell, msg) });
      cell.executionCount = reply.execution_count || null;
      status = reply.status;
    } catch (err) {
      cell.outputs.add({ output_type: P.types.stream, name: "stderr",
        text: `${err.message}${err.hint ? `\n${err.hint}` : ""}\n` });
      status = P.replyStatuses.aborted;
    }
    this.runningCell = null;
    cell.outputs.closeInput();
    cell.setPrompt(cell.executionCount);
    // As Jupyter's stop_on_error: a failed cell drops the cells queued after it.
    if (status !== P.replyStatuses.ok) this._generation += 1;
    this.markDirty();
    this.dispatchEvent(new CustomEvent("cell-done", { detail: { cell, status } }));
    return status;
  }

  /** One message from the kernel for `cell`. Display updates reach every cell with that id. */
  onMessage(cell, msg) {
    if (this.kernel?.captured?.(msg)) return; // an Output widget shows it (widgets_glue.js)
    if (this.applyUpdate(msg)) return;
    if (msg.type === this.P.types.clear_output) {
      if (msg.wait) cell.clearOnNext = true;
      else cell.outputs.clear();
      return;
    }
    if (msg.type === this.P.types.input_request) {
      const kernel = this.kernel;
      cell.outputs.askInput(msg.prompt, msg.password, (value) => kernel.sendInput(value));
      return;
    }
    const output = outputFromMessage(this.P, msg);
    if (output && cell.clearOnNext) cell.outputs.clear();
    if (output) cell.clearOnNext = false;
    if (output) cell.outputs.add(output);
  }

  /**
   * A display update (display_data with update true) replaces that display in every cell.
   * Updates also come after their cell ended (an upload job's status): the page passes the
   * kernel's `output` events here too; applying one twice changes nothing.
   */
  applyUpdate(msg) {
    if (msg.type !== this.P.types.display_data || !msg.update || !msg.display_id) return false;
    for (const cell of this.cells) cell.outputs.updateDisplay(msg.display_id, msg.data, msg.metadata);
    return true;
  }

  /** Run every cell in order; stop at the first that fails (its error shows). */
  runAll() {
    return Promise.all(this.cells.map((cell) => this.runCell(cell)));
  }

  /** Interrupt the running cell; queued cells are dropped. False if this kernel cannot. */
  interrupt() {
    this._generation += 1;
    return this.kernel ? this.kernel.interrupt() : false;
  }

  async restart() {
    this._generation += 1;
    const kernel = this.kernel;
    if (!kernel) return null;
    const started = await kernel.restart();
    for (const cell of this.cells) cell.setPrompt(cell.executionCount);
    return started;
  }

  // ---- files --------------------------------------------------------------------------------
  toJSON() {
    return toIpynb({ cells: this.cells.map((cell) => cell.toJSON()), metadata: this.metadata });
  }

  /** Open the notebook at `path`; `this.warning` says why it fails validation ("" if it does not). */
  async open(path) {
    const model = await this.contents.getNotebookModel(path);
    const notebook = fromIpynb(model.content);
    this.path = path;
    this.load(notebook);
    this.warning = validationProblem(model.message);
  }

  async save(path = this.path) {
    if (!path) throw new Error("give the notebook a path (e.g. notebooks/mine.ipynb) before saving");
    const model = await this.contents.saveNotebook(path, this.toJSON());
    this.path = path;
    this.dirty = false;
    this._changed();
    return model;
  }
}
