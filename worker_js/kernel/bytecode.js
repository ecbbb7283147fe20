// The compiled bytecode of the preloaded packages, kept across visits in the browser's Cache
// API: bento_wasm/runtime/bytecode.py says what it saves (about 2 s of the first
// `import pandas`) and why a bundle stays valid (it is found only under its wheel's sha256).
// Best effort throughout: without the Cache API (a page that is not a secure context) or
// Pyodide's lock, nothing is kept and Python compiles the sources as before.
const CACHE = "bento-bytecode";
/** bento_wasm/runtime/bytecode.py PREFIX: the bytecode tree in the worker's file system. */
export const PYCACHE_PREFIX = "/tmp/bento-pycache";
const WHEEL_CACHE = "bento-kernel-bytecode"; // bento_wasm's own (WheelBytecode)
const STDLIB_CACHE = "bento-stdlib-bytecode"; // the zipped standard library's (StdlibBytecode)

/** Lock entries of `names` and their dependencies that have modules to import. */
function closure(pyodide, names) {
  const lock = pyodide._api?.lockfile_packages; // private in Pyodide 0.27, hence the guard
  if (!lock) return [];
  const seen = new Map();
  const visit = (name) => {
    const entry = lock[name];
    if (!entry || seen.has(name)) return;
    seen.set(name, entry);
    for (const dep of entry.depends || []) visit(dep);
  };
  for (const name of names) visit(name);
  return [...seen.values()].filter((entry) => entry.sha256 && (entry.imports || []).length);
}

export class BytecodeCache {
  /**
   * Starts reading the cached bundles at once, in parallel with whatever the worker does (the
   * preload makes it as the packages start loading: the read is the browser's I/O, off the
   * worker's critical path). No Python runs until restore().
   */
  constructor(pyodide, options, packages) {
    this.pyodide = pyodide;
    this.packages = packages;
    this.base = `${options.indexURL}bento-bytecode/${pyodide.version}/`;
    // The wheels whose bundle the server compiled ahead (bento_wasm/runtime/bytecode.py
    // ensure), served at the very URL this cache keys a bundle by: a first visit has them too.
    this.served = new Set(options.bytecodeBundles || []);
    this.fromServer = 0; // bundles restored from the server rather than an earlier visit
    this.entries = typeof caches === "undefined" ? [] : closure(pyodide, packages);
    this.missing = [];
    this.module = null;
    this.restoring = null;
    if (this.entries.length) {
      this.found = this.read().catch((err) => {
        console.warn("reading the bytecode cache failed", err);
        return [];
      });
    } else {
      this.found = Promise.resolve([]);
    }
  }

  python() {
    this.module ??= this.pyodide.pyimport("bento_wasm.runtime.bytecode");
    return this.module;
  }

  key(entry) {
    return `${this.base}${entry.sha256}/${entry.file_name}.pycs`;
  }

  async read() {
    const cache = await caches.open(CACHE);
    return Promise.all(this.entries.map(async (entry) => {
      let response = await cache.match(this.key(entry));
      const served = !response && this.served.has(entry.file_name);
      if (served) response = await this.fetchServed(cache, entry);
      return [entry, response ? new Uint8Array(await response.arrayBuffer()) : null, served];
    }));
  }

  /** The server's bundle of `entry`, kept in the cache for the next visit; null if it fails. */
  async fetchServed(cache, entry) {
    try {
      const response = await fetch(this.key(entry));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      await cache.put(this.key(entry), response.clone());
      return response;
    } catch (err) {
      console.warn(`the server's bytecode of ${entry.name} is not available; compiling it`, err);
      return null;
    }
  }

  /** Where the restored bytecode came from, for the preload's status. */
  describe(restored) {
    if (!restored) return "";
    const kept = restored - this.fromServer;
    if (!this.fromServer) return ` (bytecode of ${restored} packages from an earlier visit)`;
    if (!kept) return ` (bytecode of ${restored} packages compiled by the server)`;
    return ` (bytecode of ${restored} packages: ${kept} from an earlier visit, ` +
      `${this.fromServer} compiled by the server)`;
  }

  /** Write the cached bundles into the bytecode tree, once; before the packages are imported. */
  restore() {
    this.restoring ??= this.writeFound();
    return this.restoring;
  }

  async writeFound() {
    let restored = 0;
    if (!this.entries.length) return restored;
    this.python().enable(); // the imports read (and a first visit writes) the bytecode tree
    for (const [entry, bytes, served] of await this.found) {
      if (!bytes) {
        this.missing.push(entry);
        continue;
      }
      try {
        this.write(bytes);
        restored += 1;
        if (served) this.fromServer += 1;
      } catch (err) {
        console.warn(`the cached bytecode of ${entry.name} is unusable`, err);
        this.missing.push(entry);
      }
    }
    return restored;
  }

  /** Write one bundle's files into the bytecode tree (writeBundle). */
  write(bytes) {
    writeBundle(this.pyodide.FS, bytes);
  }

  /**
   * After a cell: once the preloaded packages are imported, keep the bytecode of those the
   * cache lacks (once per visit). Resolves to the names kept.
   */
  async saveIfReady() {
    if (!this.missing.length || !this.python().imported(this.packages)) return [];
    const entries = this.missing;
    this.missing = [];
    const cache = await caches.open(CACHE);
    const kept = [];
    for (const entry of entries) {
      const proxy = this.python().bundle(entry.imports);
      const bytes = proxy.toJs();
      proxy.destroy();
      if (!bytes.length) continue;
      await cache.put(this.key(entry), new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
      kept.push(entry.name);
    }
    return kept;
  }
}

/**
 * Write one bundle's files (bento_wasm/runtime/bytecode.py `bundle` says the layout: an
 * 8-byte length, a JSON index [[path, size], ...], the files' bytes). Every path must lie
 * in the bytecode tree; a bundle that does not add up is refused before anything is written.
 */
export function writeBundle(FS, bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) throw new Error("not a bytecode bundle: too short");
  const size = Number(view.getBigUint64(0, true));
  const index = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size)));
  const prefix = PYCACHE_PREFIX + "/";
  let end = 8 + size;
  for (const [path, length] of index) {
    if (typeof path !== "string" || !path.startsWith(prefix) || path.includes("/../")) {
      throw new Error(`a bytecode bundle names ${path}, outside ${prefix}`);
    }
    end += length;
  }
  if (end !== bytes.byteLength) throw new Error("a bytecode bundle whose index does not add up");
  let at = 8 + size;
  for (const [path, length] of index) {
    FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
    FS.writeFile(path, bytes.subarray(at, at + length));
    at += length;
  }
}

/**
 * bento_wasm's own bytecode, kept across visits under the sha256 of the wheel the worker
 * installs (a cache of its own, "bento-kernel-bytecode"): the kernel's start imports some
 * thirty of its modules, compiled from source at every visit otherwise (about 0.1 s of the
 * boot). The wheel's digest and the cache read run while Pyodide loads.
 */
export class WheelBytecode {
  /** `wheelBytes`: a promise of the wheel's bytes (the worker's preflight fetches them). */
  constructor(indexURL, wheelBytes) {
    this.key = null;
    this.missing = false;
    this.found = typeof caches === "undefined" || !globalThis.crypto?.subtle
      ? Promise.resolve(null)
      : wheelBytes.then(async (buffer) => {
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
        const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
        this.key = `${indexURL}bento-bytecode/bento_wasm/${hex}.pycs`;
        const response = await (await caches.open(WHEEL_CACHE)).match(this.key);
        return response ? new Uint8Array(await response.arrayBuffer()) : null;
      }).catch((err) => {
        console.warn("reading the kernel's kept bytecode failed", err);
        return null;
      });
  }

  /**
   * Before bento_wasm is imported: write its kept bytecode into the tree and turn bytecode
   * writing on (into the tree). Resolves to whether bytecode was found.
   */
  async restore(pyodide) {
    const bytes = await this.found;
    pyodide.runPython(`import sys; sys.pycache_prefix = ${JSON.stringify(PYCACHE_PREFIX)}; sys.dont_write_bytecode = False`);
    if (bytes) {
      try {
        writeBundle(pyodide.FS, bytes);
        return true;
      } catch (err) {
        console.warn("the kernel's kept bytecode is unusable", err); // compiled as without it
      }
    }
    this.missing = this.key !== null;
    return false;
  }

  /** After the first cell: keep the bytecode for the next visit if the cache lacked it. */
  async saveIfMissing(pyodide) {
    if (!this.missing) return false;
    this.missing = false;
    const module = pyodide.pyimport("bento_wasm.runtime.bytecode");
    const proxy = module.bundle(["bento_wasm"]);
    const bytes = proxy.toJs();
    proxy.destroy();
    module.destroy();
    if (!bytes.length) return false;
    const cache = await caches.open(WHEEL_CACHE);
    await cache.put(this.key, new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
    return true;
  }
}

/**
 * The standard library's bytecode (bento_wasm/browser/stdlib.py: Pyodide's zipped stdlib holds
 * sources, and zipimport compiled each module twice per import), kept in a cache of its own
 * under the runtime's URL: read while Pyodide loads, installed before the kernel's imports,
 * kept again after a cell that compiled more (the blob says which Python wrote it).
 */
export class StdlibBytecode {
  constructor(indexURL) {
    this.key = `${indexURL}bento-bytecode/python-stdlib.code`;
    this.module = null;
    this.found = typeof caches === "undefined"
      ? Promise.resolve(null)
      : caches.open(STDLIB_CACHE).then((cache) => cache.match(this.key))
        .then(async (response) => (response ? new Uint8Array(await response.arrayBuffer()) : null))
        .catch((err) => {
          console.warn("reading the standard library's kept bytecode failed", err);
          return null;
        });
  }

  /** Before the kernel's imports: compile each zipped module once, from kept code if it has it. */
  async install(pyodide) {
    const bytes = await this.found;
    this.module = pyodide.pyimport("bento_wasm.browser.stdlib");
    return this.module.install(bytes);
  }

  /** After a cell: keep the code again if the cell compiled more modules. */
  async saveIfGrown() {
    if (!this.module || typeof caches === "undefined") return false;
    const proxy = this.module.dump();
    const bytes = proxy.toJs();
    proxy.destroy();
    if (!bytes.length) return false;
    const cache = await caches.open(STDLIB_CACHE);
    await cache.put(this.key, new Response(bytes, { headers: { "Content-Type": "application/octet-stream" } }));
    return true;
  }
}
