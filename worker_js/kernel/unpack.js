// Package wheels unpacked for Pyodide's loader, in front of Pyodide's unpack_buffer (the call its
// package loader makes after fetching, and checking the sha256 of, each package file):
//
// 1. A wheel the prefetch (prefetch.js) already inflated, with the lock's sha256: its files are
//    written into the file system as they are (writeInflated).
// 2. Else bento_wasm/browser/unpack.py (about half the Python per file of Pyodide 0.27's
//    shutil.unpack_archive).
// 3. What both decline (null/None), and anything if unpack.py cannot be imported: Pyodide's own
//    unpack_buffer, unchanged.
//
// Each shared library is handed to dynlibs.js as soon as it is written, to be compiled while the
// rest unpacks (compileAhead).
import { compileAhead } from "./dynlibs.js";

const SHARED_LIBRARY = /\.so(\.\d+)*$/; // Pyodide's SHAREDLIB_REGEX; should_load_dynlib decides

/**
 * Wrap pyodide._api.package_loader.unpack_buffer; false if this Pyodide lacks it. `prefetch`
 * (a PackagePrefetch, optional) offers wheels inflated ahead.
 */
export function unpackWheelsFaster(pyodide, prefetch = null) {
  const api = pyodide._api; // private in Pyodide 0.27, hence the guards
  const loader = api?.package_loader;
  const unpack = loader?.unpack_buffer;
  if (!unpack || typeof unpack.callKwargs !== "function") return false;
  let fast = null; // bento_wasm.browser.unpack.unpack_wheel, imported at the first wheel
  let failed = false;
  const onDynlib = (path) => compileAhead(pyodide, path);
  const wrapped = Object.assign((...args) => unpack(...args), {
    callKwargs(kwargs) {
      const { buffer, filename, extract_dir: folder, installer, source, calculate_dynlibs: dynlibs } = kwargs || {};
      if (!failed && dynlibs && folder && typeof filename === "string" && filename.endsWith(".whl")) {
        try {
          const files = prefetch?.take(filename, lockedSha256(api, filename));
          const written = files && writeInflated(pyodide, files, folder, installer || "", source || "", onDynlib);
          if (written) return written;
          fast ??= pyodide.pyimport("bento_wasm.browser.unpack").unpack_wheel;
          const found = fast.callKwargs(buffer, filename, folder, installer || "", source || "", { on_dynlib: onDynlib });
          if (found !== undefined && found !== null) {
            const paths = found.toJs();
            found.destroy();
            return paths;
          }
        } catch (err) {
          failed = true; // once: Pyodide's own from now on
          console.warn(`unpacking ${filename} failed; Pyodide unpacks it`, err);
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

/** The sha256 Pyodide's lock gives the package file `fileName` (undefined if none). */
function lockedSha256(api, fileName) {
  const packages = api.lockfile_packages || {};
  for (const name in packages) {
    if (packages[name].file_name === fileName) return packages[name].sha256;
  }
  return undefined;
}

/**
 * Write a wheel's inflated files ([[path, Uint8Array], ...], paths checked by wheel.js) under
 * `folder` as unpack.py does (the dist-info gets INSTALLER and PYODIDE_SOURCE) and return the
 * absolute paths of the libraries Pyodide must load, in archive order; null (nothing written)
 * for a wheel with .data files or without exactly one .dist-info.
 */
export function writeInflated(pyodide, files, folder, installer, source, onDynlib = () => {}) {
  const tops = new Set(files.map(([path]) => path.split("/", 1)[0]));
  const distInfo = [...tops].filter((top) => top.endsWith(".dist-info"));
  if (distInfo.length !== 1 || [...tops].some((top) => top.endsWith(".data"))) return null;
  const FS = pyodide.FS;
  const loader = pyodide.pyimport("pyodide._package_loader");
  const root = folder.replace(/\/+$/, "");
  const made = new Set();
  const dynlibs = [];
  try {
    for (const [path, content] of files) {
      const target = `${root}/${path}`;
      const parent = target.slice(0, target.lastIndexOf("/"));
      if (!made.has(parent)) {
        FS.mkdirTree(parent);
        made.add(parent);
      }
      FS.writeFile(target, content, { canOwn: true }); // the file system keeps the buffer
      if (SHARED_LIBRARY.test(path) && loader.should_load_dynlib(path)) {
        dynlibs.push(target);
        onDynlib(target);
      }
    }
  } finally {
    loader.destroy();
  }
  for (const [name, text] of [["INSTALLER", installer], ["PYODIDE_SOURCE", source]]) {
    if (text) FS.writeFile(`${root}/${distInfo[0]}/${name}`, text);
  }
  return dynlibs;
}
