// One notebook cell: a CodeMirror 6 editor (Python or Markdown), its prompt and its outputs.
import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { Compartment, EditorState, Prec, StateEffect } from "@codemirror/state";
import { python } from "@codemirror/lang-python";
import { markdown } from "@codemirror/lang-markdown";
import { badgeFromOutput } from "./badges.js";
import { OutputArea, renderMarkdown } from "./outputs.js";
import { newCellId } from "./ipynb.js";
import { assistKeys, kernelAssist, runUnlessIncomplete } from "./assist.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label, title, onClick, className = "") {
  const node = el("button", className, label);
  node.type = "button";
  node.title = title;
  node.addEventListener("click", onClick);
  return node;
}

export class Cell {
  /** `notebook` receives run/advance requests; `data` is one cell of ipynb.fromIpynb. */
  constructor(notebook, data) {
    this.notebook = notebook;
    this.id = data.id || newCellId();
    this.type = data.cell_type || "code";
    this.metadata = data.metadata || {};
    this.extra = data.extra || {}; // what the page does not model (attachments ...), kept as read
    this.executionCount = data.execution_count ?? null;
    this.language = new Compartment();
    this._build(data.source || "");
    this.outputs = new OutputArea(notebook.P, this.outputNode,
      (output) => badgeFromOutput(notebook.P, this, output));
    this.outputs.set(data.outputs || []);
    this.setPrompt(this.executionCount);
    this.setType(this.type, { keepEditing: !data.source });
  }

  _build(source) {
    this.node = el("section", "cell");
    this.node.dataset.cellId = this.id;
    const gutter = el("div", "cell-gutter");
    this.prompt = el("span", "prompt");
    this.runButton = button("▶", "Run this cell (Shift+Enter)", () => this.notebook.runCell(this), "run");
    gutter.append(this.prompt, this.runButton);

    const body = el("div", "cell-body");
    const tools = el("div", "cell-tools");
    this.typeSelect = el("select", "cell-type");
    this.typeSelect.title = "Cell type";
    const kinds = ["code", "markdown", "raw"];
    if (!kinds.includes(this.type)) kinds.push(this.type); // a type we do not know: kept
    for (const kind of kinds) this.typeSelect.append(new Option(kind, kind));
    this.typeSelect.addEventListener("change", () => this.setType(this.typeSelect.value));
    this.badges = el("span", "badges");
    tools.append(this.badges, this.typeSelect,
      button("↑", "Move up", () => this.notebook.moveCell(this, -1)),
      button("↓", "Move down", () => this.notebook.moveCell(this, 1)),
      button("+", "Insert a cell below", () => this.notebook.insertCell(this, { cell_type: "code" })),
      button("✕", "Delete this cell", () => this.notebook.deleteCell(this)));

    this.editorNode = el("div", "editor");
    this.rendered = el("div", "markdown rendered");
    this.rendered.title = "Double-click to edit";
    this.rendered.addEventListener("dblclick", () => this.edit());
    this.outputNode = el("div", "outputs");
    body.append(tools, this.editorNode, this.rendered, this.outputNode);
    this.node.append(gutter, body);

    const run = (advance) => () => {
      this.notebook.runCell(this, { advance });
      return true;
    };
    const getKernel = () => (this.type === "code" ? this.notebook.kernel : null);
    const runChecked = (view) => {
      runUnlessIncomplete(view, getKernel(), run(true));
      return true;
    };
    this.editor = new EditorView({
      doc: source,
      parent: this.editorNode,
      extensions: [
        Prec.highest(keymap.of([
          { key: "Shift-Enter", run: runChecked },
          { key: "Mod-Enter", run: run(false) },
          ...assistKeys(getKernel),
        ])),
        basicSetup,
        kernelAssist(getKernel),
        this.language.of(python()),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) this.notebook.markDirty();
        }),
      ],
    });
  }

  /** A run record's cell: shown, never edited or run. */
  setReadOnly() {
    this.editor.dispatch({
      effects: StateEffect.appendConfig.of([EditorState.readOnly.of(true), EditorView.editable.of(false)]),
    });
    this.node.classList.add("read-only");
  }

  get source() {
    return this.editor.state.doc.toString();
  }

  set source(text) {
    this.editor.dispatch({ changes: { from: 0, to: this.editor.state.doc.length, insert: text } });
  }

  setType(type, { keepEditing = false } = {}) {
    const changed = type !== this.type;
    this.type = type;
    this.typeSelect.value = type;
    this.node.classList.toggle("code", type === "code");
    this.node.classList.toggle("markdown-cell", type !== "code");
    this.editor.dispatch({ effects: this.language.reconfigure(type === "code" ? python() : markdown()) });
    if (type !== "code") {
      this.outputs.clear();
      this.setPrompt(null);
      if (keepEditing || changed) this.edit();
      else this.renderMarkdown();
    } else {
      this.node.classList.remove("editing-markdown", "showing-markdown");
    }
    if (changed) this.notebook.markDirty();
  }

  edit() {
    this.node.classList.add("editing-markdown");
    this.node.classList.remove("showing-markdown");
    this.editor.focus();
  }

  renderMarkdown() {
    if (this.type === "markdown") {
      this.rendered.innerHTML = renderMarkdown(this.source || "*empty markdown cell: double-click to edit*",
        this.extra.attachments);
    } else { // raw cells and types we do not know: their text, as it is
      this.rendered.replaceChildren(el("pre", "raw-source", this.source));
    }
    this.node.classList.add("showing-markdown");
    this.node.classList.remove("editing-markdown");
  }

  setPrompt(count, running = false) {
    if (this.type !== "code") {
      this.prompt.textContent = "";
      return;
    }
    this.prompt.textContent = running ? "[*]:" : `[${count ?? " "}]:`;
    this.node.classList.toggle("running", running);
  }

  setQueued() {
    this.prompt.textContent = "[*]:";
    this.node.classList.add("queued");
  }

  /** A small label next to the cell type, e.g. where the cell ran and why. */
  setBadge(kind, text, title = "") {
    let badge = this.badges.querySelector(`[data-kind="${kind}"]`);
    if (!text) {
      badge?.remove();
      return;
    }
    if (!badge) {
      badge = el("span", `badge badge-${kind}`);
      badge.dataset.kind = kind;
      this.badges.append(badge);
    }
    badge.textContent = text;
    badge.title = title;
  }

  focus() {
    this.editor.focus();
    this.node.scrollIntoView({ block: "nearest" });
  }

  toJSON() {
    return {
      id: this.id,
      cell_type: this.type,
      metadata: this.metadata,
      source: this.source,
      execution_count: this.executionCount,
      outputs: this.type === "code" ? this.outputs.outputs : [],
      extra: this.extra,
    };
  }
}
