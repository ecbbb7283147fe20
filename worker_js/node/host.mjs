// bento-wasm headless host: the worker's job in Node.js, for `bento run` (bento_wasm/host/node.py).
//
//   node host.mjs OPTIONS.json
//
// Boots Pyodide from the runtime folder, unpacks the bento_wasm wheel, creates the same kernel
// as the page's worker (bento_wasm.browser.worker.start) and exchanges protocol.json messages
// with the CPython host as JSON lines: `execute` on stdin, everything the kernel says on stdout.
// Nothing else is written to stdout. The run's folder is mounted at options.runMount and the
// working directory at its own path (NODEFS). Configuration is data (options.kernelOptions).
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { Protocol } from "../kernel/protocol.js";
import { loadCellPackages } from "../kernel/packages.js";
import { loadEachLibraryOnce } from "../kernel/dynlibs.js";
import { PYCACHE_PREFIX, writeBundle } from "../kernel/bytecode.js";
import { unpackWheelsFaster } from "../kernel/unpack.js";

const startedAt = performance.now();
const options = JSON.parse(await readFile(process.argv[2], "utf-8"));
const P = new Protocol(options.protocol);
const T = P.types;
let currentCell = "";
let kernel = null;
let pyodide = null;

const elapsed = () => (performance.now() - startedAt) / 1000;
const post = (msg) => process.stdout.write(JSON.stringify(msg) + "\n");
const status = (state, detail = "") => post(P.make(T.status, { state: P.states[state], detail, elapsed_s: elapsed() }));

function fatal(message, phase, hint) {
  post(P.make(T.fatal, { message: String(message), phase, hint }));
  process.exitCode = 3;
  setImmediate(() => process.exit(3));
}

/** Output written below Python's sys.stdout (C extensions, Pyodide itself). */
function rawStream(name, text) {
  if (!currentCell) {
    process.stderr.write(text + "\n");
    return;
  }
  post(P.make(T.stream, { id: currentCell, name, text: text + "\n" }));
}

function mount(path, at) {
  pyodide.FS.mkdirTree(at);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: path }, at);
}

async function boot() {
  status("loading_runtime", `loading Pyodide from ${options.indexURL}`);
  const { loadPyodide } = await import(pathToFileURL(options.indexURL + "pyodide.mjs").href);
  pyodide = await loadPyodide({
    indexURL: options.indexURL,
    // The standard library with its bytecode, when the runtime has it (bento_wasm/runtime/stdlib.py).
    ...(options.stdLibURL ? { stdLibURL: options.stdLibURL } : {}),
    // MPLBACKEND as the page (worker_js/kernel/kernel.js); matplotlib's font cache is kept
    // between runs in the host's cache folder (building it costs seconds in wasm).
    env: {
      HOME: "/home/pyodide",
      MPLBACKEND: "Agg",
      ...(options.cacheDir ? { MPLCONFIGDIR: "/bento-cache/matplotlib" } : {}),
    },
    stdout: (text) => rawStream("stdout", text),
    stderr: (text) => rawStream("stderr", text),
  });
  loadEachLibraryOnce(pyodide); // pyarrow's libarrow_python.so once (worker_js/kernel/dynlibs.js)
  unpackWheelsFaster(pyodide); // package wheels by bento_wasm/browser/unpack.py
  pyodide._api.on_fatal = (err) => fatal(
    `Pyodide suffered a fatal error: ${err && err.message ? err.message : err}`,
    "running",
    "The WebAssembly process crashed (a wasm trap or the 4 GiB memory ceiling); the cell that ran is named in the record.",
  );
  status("installing", "installing the bento_wasm wheel");
  mount(options.runDir, options.runMount);
  if (options.cacheDir) mount(options.cacheDir, "/bento-cache");
  if (options.cwd) {
    mount(options.cwd, options.cwd);
    pyodide.pyimport("os").chdir(options.cwd);
  }
  const file = await readFile(options.wheelPath);
  const wheel = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  const sitePackages = pyodide.runPython("import sys; [p for p in sys.path if p.endswith('site-packages')][0]");
  pyodide.unpackArchive(wheel, "wheel", { extractDir: sitePackages });
  if (options.preloadFrom) {
    // Every package the notebook's cells import, in one load (not one cell at a time).
    await pyodide.loadPackagesFromImports(options.preloadFrom, { messageCallback: () => {}, errorCallback: (m) => process.stderr.write(m + "\n") });
  }
  if (options.preload && options.preload.length) {
    await pyodide.loadPackage(options.preload, { messageCallback: () => {}, errorCallback: (m) => process.stderr.write(m + "\n") });
  }
  await restoreBundles();
  // Each zipped stdlib module compiled once, not twice (bento_wasm/browser/stdlib.py).
  pyodide.pyimport("bento_wasm.browser.stdlib").install();
  const workerModule = pyodide.pyimport("bento_wasm.browser.worker");
  kernel = workerModule.start(post, pyodide.toPy(options.kernelOptions));
  workerModule.destroy();
  status("idle", "ready");
}

/**
 * The loaded packages' bytecode, compiled by the host from the runtime's wheels
 * (bento_wasm/runtime/bytecode.py): the run imports pandas from it instead of compiling its
 * ~500 modules. Checked hash-based pycs: a source that differs is compiled as before.
 */
async function restoreBundles() {
  const loaded = new Set(Object.keys(pyodide.loadedPackages));
  const wanted = (options.bytecodeBundles || []).filter(([name]) => loaded.has(name));
  if (!wanted.length) return;
  pyodide.runPython(`import sys; sys.pycache_prefix = ${JSON.stringify(PYCACHE_PREFIX)}`);
  for (const [name, path] of wanted) {
    try {
      const file = await readFile(path);
      writeBundle(pyodide.FS, new Uint8Array(file.buffer, file.byteOffset, file.byteLength));
    } catch (err) {
      process.stderr.write(`the compiled bytecode of ${name} is unusable (${err.message}); it is compiled instead\n`);
    }
  }
}

async function execute(msg) {
  currentCell = msg.id;
  status("busy", msg.id);
  await loadCellPackages(pyodide, kernel, msg.code, (m) => rawStream("stderr", m));
  try {
    await kernel.execute(msg.id, msg.code);
  } catch (err) {
    const message = err && err.message ? err.message : String(err);
    post(P.make(T.error, { id: msg.id, ename: "KernelError", evalue: message, traceback: [message] }));
    post(P.make(T.execute_reply, { id: msg.id, status: P.replyStatuses.error, execution_count: 0, duration_ms: 0 }));
    if (err && err.pyodide_fatal_error) fatal(`Pyodide suffered a fatal error: ${message}`, "running", "");
  } finally {
    currentCell = "";
  }
  status("idle", "");
}

try {
  await boot();
} catch (err) {
  fatal(err && err.message ? err.message : String(err), "boot", "Check the runtime folder (bento runtime verify) and the wheel (./dev wheel).");
}

let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  P.check(msg);
  if (msg.type === T.execute) queue = queue.then(() => execute(msg));
});
lines.on("close", () => queue.then(() => process.exit(process.exitCode || 0)));
