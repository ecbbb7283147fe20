// nbformat 4 <-> the page's cells, and kernel output messages -> nbformat outputs.
// Pure functions. Our protocol's output message types are named like nbformat's output_type
// values (stream, display_data, execute_result, error), so no type is spelled here: `P.types`.

export const NBFORMAT = { nbformat: 4, nbformat_minor: 5 };

/** A multiline string as nbformat stores it: a string, or a list of lines to join. */
export function joinSource(value) {
  return Array.isArray(value) ? value.join("") : value || "";
}

/** Split text into lines that keep their "\n", as Jupyter writes them (diff-friendly files). */
export function splitLines(text) {
  if (!text) return [];
  return text.match(/[^\n]*\n|[^\n]+$/g);
}

let counter = 0;
export function newCellId() {
  counter += 1;
  return `${Date.now().toString(36)}-${counter.toString(36)}`;
}

/** A new notebook's metadata (an opened notebook keeps its own, untouched). */
export const DEFAULT_METADATA = {
  kernelspec: { name: "python3", display_name: "Python 3 (ipykernel)", language: "python" },
  language_info: { name: "python" },
};

// The keys the page models; every other key of a cell (attachments, and anything a newer or
// another front end wrote) travels untouched in `extra`. A code cell's execution_count and
// outputs are modelled; on other cells they are kept as they were.
const MODELLED = ["id", "cell_type", "source", "metadata"];
const MODELLED_CODE = [...MODELLED, "execution_count", "outputs"];

/**
 * Read a notebook document (the parsed .ipynb) into {cells, metadata}; throws on other formats.
 * Nothing is dropped: unknown cell types keep their type, unknown keys their values.
 */
export function fromIpynb(doc) {
  if (!doc || typeof doc !== "object" || !Array.isArray(doc.cells)) {
    throw new Error("this file is not a Jupyter notebook (no 'cells' list)");
  }
  if (doc.nbformat !== 4) {
    throw new Error(`nbformat ${doc.nbformat} is not supported; save the notebook as nbformat 4`);
  }
  const cells = doc.cells.map((cell) => {
    const type = typeof cell.cell_type === "string" ? cell.cell_type : "code";
    const modelled = type === "code" ? MODELLED_CODE : MODELLED;
    const extra = Object.fromEntries(Object.entries(cell).filter(([key]) => !modelled.includes(key)));
    return {
      id: cell.id || newCellId(),
      cell_type: type,
      source: joinSource(cell.source),
      metadata: cell.metadata || {},
      execution_count: type === "code" ? cell.execution_count ?? null : null,
      outputs: type === "code" ? (cell.outputs || []).map(normaliseOutput) : [],
      extra,
    };
  });
  return { cells, metadata: doc.metadata || {} };
}

function normaliseOutput(output) {
  const out = { ...output };
  if ("text" in out) out.text = joinSource(out.text);
  if (out.data) {
    out.data = Object.fromEntries(
      Object.entries(out.data).map(([mime, value]) =>
        [mime, Array.isArray(value) ? value.join("") : value]),
    );
  }
  return out;
}

/** Write {cells, metadata} as an nbformat 4.5 document; the metadata is written as it is. */
export function toIpynb({ cells, metadata }) {
  return {
    ...NBFORMAT,
    metadata: metadata || {},
    cells: cells.map((cell) => {
      const { attachments, ...others } = cell.extra || {};
      const base = { ...others, id: cell.id, cell_type: cell.cell_type, metadata: cell.metadata || {},
        source: splitLines(cell.source) };
      if (cell.cell_type !== "code") return attachments ? { ...base, attachments } : base;
      return { ...base, execution_count: cell.execution_count ?? null,
        outputs: (cell.outputs || []).map(outputForFile) };
    }),
  };
}

function outputForFile(output) {
  const { transient, ...rest } = output; // transient (display_id) is never saved (nbformat)
  const out = { ...rest };
  if (typeof out.text === "string") out.text = splitLines(out.text);
  if (out.data) {
    out.data = Object.fromEntries(Object.entries(out.data).map(([mime, value]) =>
      [mime, typeof value === "string" && mime.startsWith("text/") ? splitLines(value) : value]));
  }
  return out;
}

/**
 * A kernel output message (protocol shape) as an nbformat output, or null if it is not one.
 * display_id lives in `transient`, as in Jupyter's messages.
 */
export function outputFromMessage(P, msg) {
  const T = P.types;
  switch (msg.type) {
    case T.stream:
      return { output_type: msg.type, name: msg.name, text: msg.text };
    case T.display_data: {
      const out = { output_type: msg.type, data: msg.data, metadata: msg.metadata || {} };
      if (msg.display_id) out.transient = { display_id: msg.display_id };
      return out;
    }
    case T.execute_result:
      return { output_type: msg.type, execution_count: msg.execution_count, data: msg.data,
        metadata: msg.metadata || {} };
    case T.error:
      return { output_type: msg.type, ename: msg.ename, evalue: msg.evalue, traceback: msg.traceback };
    default:
      return null;
  }
}
