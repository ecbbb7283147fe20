// Render nbformat outputs into DOM elements. HTML and Markdown are sanitised with DOMPurify
// (a notebook file is untrusted input); tracebacks lose their ANSI colour codes.
import DOMPurify from "dompurify";
import { marked } from "marked";

// Richest first, as Jupyter front ends choose.
const MIME_ORDER = [
  "text/html", "image/svg+xml", "image/png", "image/jpeg", "text/markdown",
  "application/json", "text/latex", "text/plain",
];

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export function stripAnsi(text) {
  return text.replace(ANSI, "");
}

/** Apply carriage returns the way a terminal shows them: "\r" rewinds the current line. */
export function applyCarriageReturns(text) {
  if (!text.includes("\r")) return text;
  return text.split("\n").map((line) => {
    const parts = line.split("\r");
    let shown = "";
    for (const part of parts) shown = part + shown.slice(part.length);
    return shown;
  }).join("\n");
}

export function sanitizeHTML(html) {
  return DOMPurify.sanitize(html, { ADD_ATTR: ["target"] });
}

/**
 * Markdown as sanitised HTML. `attachments` (a markdown cell's nbformat attachments: name ->
 * mime bundle) resolve `attachment:<name>` links, as Jupyter shows pasted images.
 */
export function renderMarkdown(text, attachments = null) {
  let html = marked.parse(text, { gfm: true });
  if (attachments) {
    html = html.replace(/(src|href)="attachment:([^"]*)"/g, (whole, attr, name) => {
      const uri = attachmentURI(attachments[decodeURIComponent(name)]);
      return uri ? `${attr}="${uri}"` : whole;
    });
  }
  return sanitizeHTML(html);
}

function attachmentURI(bundle) {
  if (!bundle || typeof bundle !== "object") return null;
  const mime = Object.keys(bundle).find((m) => m.startsWith("image/"));
  if (!mime) return null;
  const value = Array.isArray(bundle[mime]) ? bundle[mime].join("") : String(bundle[mime]);
  if (mime === "image/svg+xml") return `data:${mime},${encodeURIComponent(value)}`;
  return `data:${mime};base64,${value.replace(/[^A-Za-z0-9+/=]/g, "")}`; // base64 only: no quote
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Renderers of MIME types that a part loaded on demand draws (the widget view, widgets_glue.js):
 *  mime -> (box, value, data) fills `box`, first with a text fallback. */
export const liveRenderers = new Map();

function renderData(data) {
  const live = [...liveRenderers.keys()].find((m) => m in data);
  if (live) {
    const box = el("div", "out-data");
    box.dataset.mime = live;
    liveRenderers.get(live)(box, data[live], data);
    return box;
  }
  const mime = MIME_ORDER.find((m) => m in data) || Object.keys(data)[0];
  const value = data[mime];
  const box = el("div", "out-data");
  box.dataset.mime = mime || "";
  switch (mime) {
    case "text/html":
      box.innerHTML = sanitizeHTML(value);
      break;
    case "image/svg+xml":
      box.innerHTML = DOMPurify.sanitize(value, { USE_PROFILES: { svg: true } });
      break;
    case "image/png":
    case "image/jpeg": {
      const img = el("img");
      img.src = `data:${mime};base64,${String(value).replace(/\s/g, "")}`;
      img.alt = data["text/plain"] || "image output";
      box.append(img);
      break;
    }
    case "text/markdown":
      box.classList.add("markdown");
      box.innerHTML = renderMarkdown(value);
      break;
    case "application/json":
      box.append(el("pre", "", JSON.stringify(value, null, 2)));
      break;
    default:
      box.append(el("pre", "", stripAnsi(String(value ?? ""))));
  }
  return box;
}

/** One nbformat output as an element. `P` names the output types (they equal protocol types). */
export function renderOutput(P, output) {
  const T = P.types;
  const wrap = el("div", `output out-${output.output_type}`);
  switch (output.output_type) {
    case T.stream:
      wrap.classList.add(`out-${output.name}`);
      wrap.append(el("pre", "", applyCarriageReturns(stripAnsi(output.text))));
      break;
    case T.error:
      wrap.append(el("pre", "", stripAnsi((output.traceback || []).join("\n")) ||
        `${output.ename}: ${output.evalue}`));
      break;
    case T.execute_result:
    case T.display_data:
      if (output.data && P.mimeTypes.badge in output.data) wrap.classList.add("out-badge");
      wrap.append(renderData(output.data || {}));
      break;
    default:
      wrap.append(el("pre", "", JSON.stringify(output)));
  }
  return wrap;
}

/**
 * Outputs of one cell, kept as nbformat outputs and shown in `container`.
 * Consecutive stream outputs of the same stream merge, as in Jupyter.
 */
export class OutputArea {
  /** `onAdd(output)` sees every output added (e.g. to lift a badge onto the cell). */
  constructor(P, container, onAdd = () => {}) {
    this.P = P;
    this.container = container;
    this.onAdd = onAdd;
    this.outputs = [];
    this.nodes = [];
    this.pendingInput = null;
  }

  /** Remove every output; a box still waiting for an answer stays (input() still waits). */
  clear() {
    this.outputs = [];
    this.nodes = [];
    this.container.replaceChildren(...(this.pendingInput ? [this.pendingInput] : []));
  }

  /** Show outputs read from a file: each kept as it is (no merging of streams). */
  set(outputs) {
    this.clear();
    for (const output of outputs) this._push(output);
  }

  add(output) {
    const last = this.outputs[this.outputs.length - 1];
    if (last && output.output_type === this.P.types.stream && last.output_type === output.output_type &&
        last.name === output.name && this._nextToLast()) {
      last.text += output.text;
      this.replace(this.outputs.length - 1, last);
      return;
    }
    this._push(output);
  }

  _push(output) {
    const node = renderOutput(this.P, output);
    this.onAdd(output);
    this.outputs.push(output);
    this.nodes.push(node);
    // A waiting input box stays last: a server kernel's output printed before input() comes
    // on IOPub, the prompt on the stdin channel, and the two can arrive in either order.
    this.container.insertBefore(node, this.pendingInput);
  }

  /** A new stream merges into the last output only if no answered prompt stands between. */
  _nextToLast() {
    const after = this.nodes[this.nodes.length - 1].nextSibling;
    return after === null || after === this.pendingInput;
  }

  replace(index, output) {
    const node = renderOutput(this.P, output);
    this.outputs[index] = output;
    this.nodes[index].replaceWith(node);
    this.nodes[index] = node;
  }

  /**
   * input()/getpass() waits: a prompt with a text box (hidden typing for a password) below
   * the outputs; Enter sends the answer and leaves "prompt answer" (dots for a password), as
   * Jupyter does. Not an nbformat output, so it is not saved. `send` may return a promise;
   * if it rejects, the box comes back with the reason.
   */
  askInput(prompt, password, send) {
    this.closeInput();
    const box = el("div", "output out-stdin");
    const label = el("label", "stdin-prompt", prompt);
    const field = document.createElement("input");
    field.type = password ? "password" : "text";
    field.className = "stdin-field";
    field.autocomplete = "off";
    field.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      const value = field.value;
      box.replaceChildren(el("pre", "", `${prompt}${password ? "·".repeat(8) : value}`));
      this.pendingInput = null;
      // Without isolation the answer is a POST to the server: when it fails, ask again
      // and say why, rather than leave input() waiting with no box to answer in.
      Promise.resolve()
        .then(() => send(value))
        .catch((err) => {
          box.remove();
          this.askInput(prompt, password, send);
          this.pendingInput.prepend(el("div", "stdin-error", `Your answer did not reach the kernel (${err.message}); type it again.`));
        });
    });
    label.append(field);
    box.append(label);
    this.pendingInput = box;
    this.container.append(box);
    field.focus();
  }

  /** The cell ended (or was interrupted) while its input box waited: remove the box. */
  closeInput() {
    this.pendingInput?.remove();
    this.pendingInput = null;
  }

  /** Replace every output that carries display_id; returns how many were updated. */
  updateDisplay(displayId, data, metadata) {
    let updated = 0;
    this.outputs.forEach((output, index) => {
      if (output.transient?.display_id === displayId) {
        this.replace(index, { ...output, data, metadata: metadata || {} });
        updated += 1;
      }
    });
    return updated;
  }
}
