// Package wheels unpacked by bento_wasm/browser/unpack.py (about half the Python per file of
// Pyodide 0.27's shutil.unpack_archive): put in front of Pyodide's unpack_buffer, the call its
// package loader makes after fetching (and checking the sha256 of) each package file. What
// unpack_wheel declines (None), and anything if its module cannot be imported, goes to
// Pyodide's own unpack_buffer unchanged.
//
// Each shared library is handed to dynlibs.js as soon as it is written, to be compiled while the
// rest unpacks (compileAhead).
import { compileAhead } from "./dynlibs.js";

/** Wrap pyodide._api.package_loader.unpack_buffer; false if this Pyodide lacks it. */
export function unpackWheelsFaster(pyodide) {
  const api = pyodide._api; // private in Pyodide 0.27, hence the guards
  const loader = api?.package_loader;
  const unpack = loader?.unpack_buffer;
  if (!unpack || typeof unpack.callKwargs !== "function") return false;
  let fast = null; // bento_wasm.browser.unpack.unpack_wheel, imported at the first wheel
  let failed = false;
  const onDynlib = (path) => compileAhead(pyodide, path);
  // Pyodide 0.27.7 copies a JS typed array into Python memory at a signed address: once the heap
  // is past 2 GiB that fails (RangeError: offset is out of bounds), and so does its own
  // unpack_buffer. There the wheel goes through a file of the in-memory file system instead,
  // whose reads are safe at any address.
  const FS = pyodide.FS;
  const pastTwoGiB = () => (pyodide._module?.HEAPU8?.length ?? 0) > 2 ** 31;
  const wrapped = Object.assign((...args) => unpack(...args), {
    callKwargs(kwargs) {
      const { buffer, filename, extract_dir: folder, installer, source, calculate_dynlibs: dynlibs } = kwargs || {};
      if (!failed && dynlibs && folder && typeof filename === "string" && filename.endsWith(".whl")) {
        let spool = null;
        try {
          fast ??= pyodide.pyimport("bento_wasm.browser.unpack").unpack_wheel;
          if (pastTwoGiB()) {
            FS.mkdirTree("/tmp/bento-unpack");
            spool = `/tmp/bento-unpack/${filename.split("/").pop()}`;
            FS.writeFile(spool, buffer);
          }
          const found = fast.callKwargs(spool ?? buffer, filename, folder, installer || "", source || "", { on_dynlib: onDynlib });
          if (found !== undefined && found !== null) {
            const paths = found.toJs();
            found.destroy();
            return paths;
          }
        } catch (err) {
          failed = true; // once: Pyodide's own from now on
          console.warn(`unpacking ${filename} failed; Pyodide unpacks it`, err);
        } finally {
          if (spool) FS.unlink(spool);
        }
      }
      return unpack.callKwargs(kwargs);
    },
  });
  api.package_loader = new Proxy(loader, {
    get: (target, key) => (key === "unpack_buffer" ? wrapped : Reflect.get(target, key)),
  });
  return true;
}
