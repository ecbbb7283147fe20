// Each shared library of a package loaded once (Pyodide 0.27.7, emscripten's dylink).
//
// pyarrow's extension modules need libarrow_python.so (40 MB of wasm). Pyodide loads a
// package's libraries in name order: the first, _acero, pulls libarrow_python.so in by its bare
// name (resolved next to it, in pyarrow/); the package loader later asks for the same file by
// its absolute path, which emscripten has not seen under that name, so it compiled and
// instantiated the library a second time (0.2-0.3 s of every preload, its data and table
// allocated twice, its constructors run twice) for a copy that nothing ever calls: symbols of
// the bare name were resolved to the first copy already.
//
// Here an absolute path that is the very file (the same file-system node) a library was
// already loaded from under its bare name gets that library (emscripten's own "already
// loaded" path: refcount, exports into the caller's scope). Any other load is untouched.

/**
 * Wrap pyodide._module.loadDynamicLibrary (the call Pyodide's package loader makes). Returns
 * false if this Pyodide lacks what the wrap relies on (nothing is changed then).
 */
export function loadEachLibraryOnce(pyodide) {
  const Module = pyodide._module; // private in Pyodide 0.27, hence the guards
  const original = Module?.loadDynamicLibrary;
  const byName = Module?.LDSO?.loadedLibsByName;
  const FS = Module?.FS;
  if (typeof original !== "function" || !byName || !FS) return false;
  const resolved = new Map(); // bare name -> the file-system node it was read from
  Module.loadDynamicLibrary = function (libName, flags, localScope, handle) {
    if (typeof libName === "string" && libName.startsWith("/") && !byName[libName]) {
      const bare = libName.slice(libName.lastIndexOf("/") + 1);
      const loaded = byName[bare];
      if (loaded && loaded.exports !== "loading" && resolved.get(bare) === nodeOf(FS, libName)) {
        byName[libName] = loaded;
      }
    }
    if (flags?.fs?.readFile && flags.fs.findObject) flags = { ...flags, fs: recording(flags.fs, resolved) };
    return original.call(this, libName, flags, localScope, handle);
  };
  return true;
}

function nodeOf(FS, path) {
  try {
    return FS.lookupPath(path).node;
  } catch {
    return undefined;
  }
}

/** The loader's file system, noting which node each bare library name was read from. */
function recording(fs, resolved) {
  return {
    ...fs,
    findObject: (name, ...rest) => fs.findObject(name, ...rest),
    readFile(name, ...rest) {
      if (!name.startsWith("/")) {
        const node = fs.findObject(name);
        if (node) resolved.set(name, node);
      }
      return fs.readFile(name, ...rest);
    },
  };
}
