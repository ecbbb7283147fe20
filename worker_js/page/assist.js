// The editor asks the kernel, as JupyterLab does: Tab completes (complete_request), Shift+Tab
// shows the signature and docstring (inspect_request), Shift+Enter on unfinished input adds a
// line instead of running it (is_complete_request). Both kernels answer with Jupyter's reply
// contents; positions travel in code points, as Jupyter counts them.
import { acceptCompletion, autocompletion, completionStatus, startCompletion } from "@codemirror/autocomplete";
import { indentLess, indentMore } from "@codemirror/commands";
import { StateEffect, StateField } from "@codemirror/state";
import { EditorView, showTooltip } from "@codemirror/view";

const ANSI = /\x1b\[[0-9;]*m/g;

/** Code points before `offset` (a UTF-16 offset, as CodeMirror counts). */
export function toCodePoints(text, offset) {
  return [...text.slice(0, offset)].length;
}

/** The UTF-16 offset of code point `count`. */
export function toOffset(text, count) {
  let offset = 0;
  let seen = 0;
  for (const ch of text) {
    if (seen === count) break;
    offset += ch.length;
    seen += 1;
  }
  return offset;
}

const TYPES = { function: "function", class: "class", module: "namespace", instance: "variable",
  statement: "variable", keyword: "keyword", param: "variable", path: "text", property: "property" };

/** A CodeMirror completion source asking the kernel (only when asked: Tab, Ctrl+Space). */
function kernelSource(getKernel) {
  return async (context) => {
    const kernel = getKernel();
    if (!context.explicit || !kernel?.complete) return null;
    const code = context.state.doc.toString();
    let reply;
    try {
      reply = await kernel.complete(code, toCodePoints(code, context.pos));
    } catch (err) {
      console.warn("completion failed", err);
      return null;
    }
    if (context.aborted || reply.status !== "ok" || !reply.matches.length) return null;
    const types = reply.metadata?._jupyter_types_experimental || [];
    return {
      from: toOffset(code, reply.cursor_start),
      to: toOffset(code, reply.cursor_end),
      filter: false,
      options: reply.matches.map((label, i) => ({ label, type: TYPES[types[i]?.type] || "text",
        detail: types[i]?.signature || undefined })),
    };
  };
}

const setHelp = StateEffect.define();
const helpField = StateField.define({
  create: () => null,
  update(value, tr) {
    for (const effect of tr.effects) if (effect.is(setHelp)) return effect.value;
    return tr.docChanged || tr.selection ? null : value;
  },
  provide: (field) => showTooltip.from(field),
});

function helpTooltip(pos, text) {
  return {
    pos,
    above: false,
    create: () => {
      const dom = document.createElement("pre");
      dom.className = "cm-inspect";
      dom.textContent = text;
      return { dom };
    },
  };
}

/** Shift+Tab: the kernel's help on the name at the cursor, in a tooltip (Escape closes it). */
async function showHelp(view, getKernel) {
  const kernel = getKernel();
  if (!kernel?.inspect) return;
  const code = view.state.doc.toString();
  const pos = view.state.selection.main.head;
  let reply;
  try {
    reply = await kernel.inspect(code, toCodePoints(code, pos), 0);
  } catch (err) {
    console.warn("inspection failed", err);
    return;
  }
  if (view.state.doc.toString() !== code) return; // typed on meanwhile
  const text = reply.status === "ok" && reply.found
    ? String(reply.data["text/plain"] || "").replace(ANSI, "")
    : "No help found for the name at the cursor.";
  view.dispatch({ effects: setHelp.of(helpTooltip(pos, text)) });
}

/** Editor extensions for one code cell; `getKernel()` is the notebook's current kernel. */
export function kernelAssist(getKernel) {
  return [
    helpField,
    autocompletion({ override: [kernelSource(getKernel)], activateOnTyping: false }),
    EditorView.baseTheme({
      ".cm-tooltip.cm-inspect": { maxWidth: "70ch", maxHeight: "40vh", overflow: "auto", margin: 0,
        padding: "6px 8px", whiteSpace: "pre-wrap", fontSize: "12px" },
    }),
  ];
}

/** Tab, Shift+Tab and Escape, for a keymap of the highest precedence. */
export function assistKeys(getKernel) {
  return [
    {
      key: "Tab",
      run: (view) => {
        // A popup younger than CodeMirror's interactionDelay (75 ms) refuses to accept: a Tab
        // on a visible popup still accepts, a moment later.
        if (completionStatus(view.state) === "active") {
          if (!acceptCompletion(view)) setTimeout(() => acceptCompletion(view), 100);
          return true;
        }
        if (completionStatus(view.state) === "pending") return true;
        const { head, empty } = view.state.selection.main;
        const line = view.state.doc.lineAt(head);
        if (!empty || /^\s*$/.test(line.text.slice(0, head - line.from))) return indentMore(view);
        return startCompletion(view);
      },
    },
    {
      key: "Shift-Tab",
      run: (view) => {
        if (!view.state.selection.main.empty) return indentLess(view);
        showHelp(view, getKernel);
        return true;
      },
    },
    {
      key: "Escape",
      run: (view) => {
        if (!view.state.field(helpField, false)) return false;
        view.dispatch({ effects: setHelp.of(null) });
        return true;
      },
    },
  ];
}

/**
 * Shift+Enter: run, unless the kernel says the cell is unfinished (`for x in y:`, an open
 * bracket); then add a line with the indent it suggests, as a Jupyter console does. The cell
 * is asked as if Enter were pressed at its end. A busy or silent kernel does not hold it up.
 */
export async function runUnlessIncomplete(view, kernel, run) {
  if (!kernel?.isComplete || kernel.state !== "idle") return run();
  const code = view.state.doc.toString();
  let reply = null;
  try {
    reply = await Promise.race([
      kernel.isComplete(`${code}\n`),
      new Promise((resolve) => setTimeout(() => resolve(null), 3000)),
    ]);
  } catch (err) {
    console.warn("is_complete failed", err);
  }
  if (reply?.status !== "incomplete" || view.state.doc.toString() !== code) return run();
  const insert = `\n${reply.indent || ""}`;
  const end = view.state.doc.length;
  view.dispatch({ changes: { from: end, insert }, selection: { anchor: end + insert.length } });
  return false;
}
