// Shared libraries of packages (Pyodide 0.27.7, emscripten's dylink): each loaded once, and
// compiled ahead, while the wheels still unpack.
//
// Once. pyarrow's extension modules need libarrow_python.so (40 MB of wasm). Pyodide loads a
// package's libraries in name order: the first, _acero, pulls libarrow_python.so in by its bare
// name (resolved next to it, in pyarrow/); the package loader later asks for the same file by
// its absolute path, which emscripten has not seen under that name, so it compiled and
// instantiated the library a second time (0.2-0.3 s of every preload, its data and table
// allocated twice, its constructors run twice) for a copy that nothing ever calls: symbols of
// the bare name were resolved to the first copy already. Here an absolute path that is the very
// file (the same file-system node) a library was already loaded from under its bare name gets
// that library (emscripten's own "already loaded" path: refcount, exports into the caller's
// scope). Any other load is untouched.
//
// Ahead. Pyodide's loader reads each library's bytes from the file system and hands them to
// WebAssembly.instantiate, which compiles them there and then: about 0.36 s of compiling for
// numpy, pandas and pyarrow on every visit, one library after another, on the preload's path.
// compileAhead(path), told by browser/unpack.py as each library is written, starts
// WebAssembly.compile of its bytes at once: V8 compiles on its background threads while Python
// goes on unpacking. When the loader later reads that file (the same node, unchanged since:
// same size and modification time), its bytes are noted, and the loader's
// WebAssembly.instantiate of exactly those bytes instantiates the compiled module instead.
// Anything else (a library not compiled ahead, a file changed since, a compile that failed) is
// instantiated from its bytes as before; no other call of WebAssembly.instantiate is touched.
//
// Why not Chromium's wasm code cache (compileStreaming of an HTTP response, kept across
// visits)? Measured 2026-11-30 (Chromium 156, the 78 libraries of numpy, pandas and pyarrow):
// compileStreaming of immutable application/wasm responses took 434 ms on the first visit and
// 425-472 ms on returning ones; WebAssembly.compile of their bytes 219-240 ms. V8 compiles wasm
// lazily (a function when first called) and caches a module's code only once enough of it has
// been tiered up, which libraries that mostly run their constructors at import never are: the
// cache does not engage, so the libraries are not served separately.

/** The module compiled ahead of each file, by its file-system node (per Pyodide instance). */
const aheadByModule = new WeakMap();
/** The bytes the loader read of a file compiled ahead -> that module (a Promise, null if not). */
const compiledFor = new WeakMap();
let instantiateWrapped = false;
let loading = 0; // library loads under way (what WebAssembly.instantiate's calls are counted in)
/** How the libraries were instantiated: from a module compiled ahead, or from their bytes. */
export const dynlibCounts = { ahead: 0, bytes: 0 };

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
  const ahead = new Map(); // file-system node -> {size, stamp, module: Promise}
  aheadByModule.set(pyodide, ahead);
  Module.loadDynamicLibrary = function (libName, flags, localScope, handle) {
    if (typeof libName === "string" && libName.startsWith("/") && !byName[libName]) {
      const bare = libName.slice(libName.lastIndexOf("/") + 1);
      const loaded = byName[bare];
      if (loaded && loaded.exports !== "loading" && resolved.get(bare) === nodeOf(FS, libName)) {
        byName[libName] = loaded;
      }
    }
    if (flags?.fs?.readFile && flags.fs.findObject) flags = { ...flags, fs: recording(flags.fs, resolved, ahead) };
    loading += 1;
    const result = original.call(this, libName, flags, localScope, handle);
    if (result instanceof Promise) return result.finally(() => (loading -= 1));
    loading -= 1;
    return result;
  };
  wrapInstantiate();
  return true;
}

/**
 * Start compiling the library at `path` (an absolute path in Pyodide's file system, just
 * written). Does nothing unless loadEachLibraryOnce wrapped this Pyodide; never throws.
 */
export function compileAhead(pyodide, path) {
  const ahead = aheadByModule.get(pyodide);
  if (!ahead || typeof WebAssembly.compile !== "function") return;
  try {
    const node = pyodide._module.FS.lookupPath(path).node;
    const bytes = pyodide._module.FS.readFile(path);
    const module = WebAssembly.compile(bytes).catch(() => null); // then from the bytes, as before
    ahead.set(node, { size: bytes.length, stamp: node.timestamp, module });
  } catch {
    // not a file we can read: the loader reads and compiles it as before
  }
}

function nodeOf(FS, path) {
  try {
    return FS.lookupPath(path).node;
  } catch {
    return undefined;
  }
}

/**
 * The loader's file system, noting which node each bare library name was read from, and the
 * bytes it read of a file compiled ahead (if that file is unchanged since).
 */
function recording(fs, resolved, ahead) {
  return {
    ...fs,
    findObject: (name, ...rest) => fs.findObject(name, ...rest),
    readFile(name, ...rest) {
      const node = fs.findObject(name);
      if (node && !name.startsWith("/")) resolved.set(name, node);
      const bytes = fs.readFile(name, ...rest);
      const compiled = node && ahead.get(node);
      if (compiled) {
        ahead.delete(node); // used once: the module is not kept after its instance
        if (bytes instanceof Uint8Array && bytes.length === compiled.size && node.timestamp === compiled.stamp) {
          compiledFor.set(bytes, compiled.module);
        }
      }
      return bytes;
    },
  };
}

/**
 * WebAssembly.instantiate of bytes the loader read of a library compiled ahead: instantiate
 * that module (the same result shape, {module, instance}). Every other call is passed through.
 */
function wrapInstantiate() {
  if (instantiateWrapped) return;
  instantiateWrapped = true;
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = function (source, imports, ...rest) {
    const compiled = source instanceof Uint8Array ? compiledFor.get(source) : undefined;
    if (!compiled) {
      if (loading) dynlibCounts.bytes += 1;
      return instantiate.call(this, source, imports, ...rest);
    }
    compiledFor.delete(source);
    return compiled.then((module) => {
      if (!module) {
        dynlibCounts.bytes += 1;
        return instantiate.call(WebAssembly, source, imports, ...rest);
      }
      dynlibCounts.ahead += 1;
      return instantiate.call(WebAssembly, module, imports).then((instance) => ({ module, instance }));
    });
  };
}
