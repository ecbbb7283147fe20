// The bento_wasm wheel unpacked in JavaScript while Pyodide loads, and written into
// site-packages with one file-system call each once it is up. Python's zipfile
// (pyodide.unpackArchive) did the same after loadPyodide, on the boot's critical path (60-80 ms
// of the kernel's start). The server's browser wheel is stored (bento_wasm/server/
// browser_wheel.py): its entries are read in place. A deflated entry (a user's own wheel) is
// inflated by a DecompressionStream; for the 118 files of a deflated bento_wasm wheel that ran
// on this thread during loadPyodide and put Pyodide's instantiation ~0.09 s later.
//
// A plain zip reader for what `pip wheel` and the bento server write (stored or deflated
// entries, no ZIP64, no encryption); anything else is refused and the worker falls back to
// pyodide.unpackArchive. No path may leave the target folder.

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The wheel's files as [[path, Uint8Array], ...] (directories left out); rejects if unreadable. */
export async function inflateWheel(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  let end = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === EOCD) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Error("not a zip: no end of central directory");
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (view.getUint32(at, true) !== CENTRAL) throw new Error("a zip whose central directory is broken");
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const packed = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const path = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + skip;
    if (flags & 1) throw new Error(`${path} is encrypted`);
    if (packed === 0xffffffff || size === 0xffffffff || local === 0xffffffff) throw new Error("ZIP64");
    if (method !== 0 && method !== 8) throw new Error(`${path}: compression method ${method}`);
    if (path.startsWith("/") || path.split("/").includes("..") || path.includes("\\")) {
      throw new Error(`a wheel entry outside its folder: ${path}`);
    }
    if (path.endsWith("/")) continue; // a directory: made with its files
    if (view.getUint32(local, true) !== LOCAL) throw new Error(`${path}: no local header`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    entries.push({ path, method, size, data: bytes.subarray(start, start + packed) });
  }
  return Promise.all(entries.map(async ({ path, method, size, data }) => {
    const content = method === 0 ? data : await inflate(data);
    if (content.length !== size) throw new Error(`${path}: ${content.length} bytes, not ${size}`);
    return [path, content];
  }));
}

async function inflate(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Write inflateWheel's files under `folder` (site-packages). */
export function writeWheel(FS, files, folder) {
  const made = new Set();
  for (const [path, content] of files) {
    const target = `${folder}/${path}`;
    const parent = target.slice(0, target.lastIndexOf("/"));
    if (!made.has(parent)) {
      FS.mkdirTree(parent);
      made.add(parent);
    }
    FS.writeFile(target, content);
  }
}
