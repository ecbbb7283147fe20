// bento-wasm kernel worker (a module worker).
//
// Boots Pyodide from options.indexURL, installs the bento_wasm wheel from options.wheelURL,
// and runs cells through bento_wasm.browser.worker. The first message is the boot message;
// it carries the protocol spec (bento_wasm/protocol.json) so this file spells no message
// type of its own. Every failure to start is reported as a `fatal` message within
// options.bootTimeoutMs, never a hang.
import { Protocol } from "./protocol.js";
import { loadCellPackages, loadCellWheels } from "./packages.js";
import { handleTransfer } from "./arrow.js";
import { installMagics } from "./magics.js";
import { BytecodeCache, StdlibBytecode, WheelBytecode } from "./bytecode.js";
import { dynlibCounts, loadEachLibraryOnce } from "./dynlibs.js";
import { inflateWheel, writeWheel } from "./wheel.js";
import { unpackWheelsFaster } from "./unpack.js";

const startedAt = performance.now();
let P = null; // the Protocol, from the boot message
let T = null; // P.types
let pyodide = null;
let kernel = null; // bento_wasm.browser.worker.WorkerKernel (a PyProxy)
let currentCell = "";
let interruptView = null; // Int32Array over the page's SharedArrayBuffer, when isolated
let stdinState = null; // Int32Array [state, length] over the page's stdin SharedArrayBuffer
let stdinBytes = null; // the answer's UTF-8 bytes, after the 8-byte header
let stdinServer = null; // {url, token, session}: not isolated, input() waits through the server
let dead = false;
let queue = Promise.resolve();
let bytecode = null; // BytecodeCache: the preloaded packages' compiled bytecode, across visits
let bootOptions = null; // the boot message's options, for what is made after boot
let bytecodeFailed = false;
let wheelBytecode = null; // WheelBytecode: bento_wasm's own bytecode, across visits
let stdlibBytecode = null; // StdlibBytecode: the zipped standard library's, across visits

// input() and getpass(): Python blocks in read(request) until the page answers. Cross-origin
// isolated: the page writes the answer into the shared stdin buffer (BentoKernel.sendInput)
// and this wakes every 100 ms to see whether Interrupt was pressed. Otherwise: a long poll of
// the bento server (synchronous XHR, bento_wasm/server/stdinapi.py), repeated until the page
// posts the answer or an interrupt there. Resolves to {state, value} (P.spec.stdin_states).
globalThis.bentoStdin = {
  available: () => stdinState !== null || stdinServer !== null,
  read(request) {
    const [, answer, interrupted] = P.spec.stdin_states;
    if (stdinState === null) return pollStdinServer(request);
    for (;;) {
      Atomics.wait(stdinState, 0, 0, 100);
      if (Atomics.load(stdinState, 0) === 1) {
        const text = new TextDecoder().decode(stdinBytes.slice(0, Atomics.load(stdinState, 1)));
        Atomics.store(stdinState, 0, 0);
        return { state: answer, value: text };
      }
      if (interruptView && Atomics.load(interruptView, 0) !== 0) {
        Atomics.store(interruptView, 0, 0);
        return { state: interrupted }; // Python raises KeyboardInterrupt
      }
    }
  },
};

/** How long the server holds one poll open (s): short, so a lost page is noticed soon. */
const STDIN_POLL_S = 10;

function pollStdinServer(request) {
  const { url, token, session } = stdinServer;
  const target = `${url}/bento/api/stdin/${encodeURIComponent(session)}/${encodeURIComponent(request)}` +
    `?wait=${STDIN_POLL_S}`;
  const waiting = P.spec.stdin_states[0];
  for (;;) {
    const xhr = new XMLHttpRequest();
    xhr.open("GET", target, false);
    if (token) xhr.setRequestHeader("Authorization", `token ${token}`);
    try {
      xhr.send();
    } catch (err) {
      throw new Error(`input() could not wait for its answer: the bento server at ${url} did not ` +
        `answer (${err.message}); check that it runs and allows this page's origin ` +
        `(--BentoApp.page_origins=${self.location.origin}), then run the cell again`);
    }
    let body = null;
    try {
      body = JSON.parse(xhr.responseText);
    } catch {
      // not JSON: said below with the status
    }
    if (xhr.status !== 200 || body === null) {
      throw new Error(`input() could not wait for its answer: the bento server at ${url} answered ` +
        `HTTP ${xhr.status}: ${body?.message || xhr.responseText.slice(0, 200) || "no reason given"}`);
    }
    if (body.state !== waiting) return body;
  }
}

// Interrupts held while Python waits in run_sync (bento_wasm/browser/suspend.py): JavaScript
// may run other Python meanwhile (a settled promise's callback), where Pyodide would raise the
// interrupt and lose it with the callback; given back after the wait, it stops the cell's code.
let interruptsAttached = false; // the interrupt buffer is Pyodide's (a cell is running)
globalThis.bentoInterrupts = {
  hold() {
    if (interruptsAttached) pyodide.setInterruptBuffer(undefined);
  },
  release() {
    if (interruptsAttached) pyodide.setInterruptBuffer(interruptView);
  },
};

// The data magics' JS middleware (globalThis.bentoMagics): Python awaits it mid-cell.
installMagics({ get pyodide() { return pyodide; }, get kernel() { return kernel; } });

// Boot milestones on the worker's User Timing timeline (DevTools > Performance): the breakdown
// in benchmarks/startup.py was read from them.
// With the boot option `timeline` (benchmarks/startup.py) each is also logged to the console.
let timeline = false;
const mark = (what) => {
  performance.mark(`bento: ${what}`);
  if (timeline) console.info(`bento timeline ${elapsed().toFixed(3)} ${what}`);
};
// Per cell only with `timeline`: a worker never clears its User Timing buffer, and a mark per
// step of every cell would grow it for as long as the tab is open.
const cellMark = (what) => timeline && mark(what);
const elapsed = () => (performance.now() - startedAt) / 1000;
const post = (msg, transfer = []) => self.postMessage(msg, transfer);

let lastState = "starting"; // the state the page was last told (the preload's news keeps it)
function status(state, detail = "") {
  lastState = state;
  post(P.make(T.status, { state: P.states[state], detail, elapsed_s: elapsed() }));
}

function fatal(message, phase, hint) {
  dead = true;
  post(P.make(T.fatal, { message: String(message), phase, hint }));
  post(P.make(T.status, { state: P.states.dead, detail: String(message), elapsed_s: elapsed() }));
}

self.onmessage = (event) => {
  const msg = event.data;
  if (P === null) {
    // The boot message: it brings the protocol itself.
    P = new Protocol(msg.options.protocol);
    T = P.types;
  }
  queue = queue.then(() => handle(msg));
};

async function handle(msg) {
  if (dead) return;
  try {
    P.check(msg);
  } catch (err) {
    fatal(err.message, "protocol", "Reload the page: page and worker come from different releases.");
    return;
  }
  switch (msg.type) {
    case T.boot:
      return boot(msg.options);
    case T.execute:
      return execute(msg);
    case T.inject:
    case T.export:
      return transfer(msg);
    case T.comm_open:
    case T.comm_msg:
    case T.comm_close:
      return comm(msg);
    case T.complete_request:
    case T.inspect_request:
    case T.is_complete_request:
      return answer(msg);
  }
}

/** Tab, Shift+Tab and Shift+Enter's questions: IPython (and jedi) load the first time one needs them. */
async function answer(msg) {
  try {
    const imports = kernel.request_scan_source(msg);
    if (imports) await pyodide.loadPackagesFromImports(imports, { messageCallback: () => {} });
  } catch (err) {
    console.warn("loading IPython for a completion failed", err); // the reply says why
  }
  kernel.answer(msg); // posts the reply (status error with the reason if it failed)
}

/** A widget's message from the page: its handler runs between cells, as a short cell of msg.id. */
async function comm(msg) {
  currentCell = msg.id;
  status("busy", msg.id);
  try {
    await kernel.comm_message(msg);
  } catch (err) {
    rawStream("stderr", `a widget's message failed: ${err.message}`);
  } finally {
    currentCell = "";
  }
  status("idle", "");
}

/** Arrow injection / export (worker_js/arrow.js); queued like cells, never concurrent with one. */
async function transfer(msg) {
  status("busy", `${msg.type} ${msg.name}`);
  const { reply, transfer: transferList } = await handleTransfer({ pyodide, kernel }, msg, P);
  post(reply, transferList);
  status("idle", "");
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function checkedFetch(url, { method = "GET", mime = null } = {}) {
  let response;
  try {
    // A HEAD stays out of the HTTP cache: Chromium lets one request at a time use a URL's entry,
    // so a HEAD revalidating the entry held back loadPyodide's GET of the same file meanwhile.
    response = await fetch(url, method === "HEAD" ? { method, cache: "no-store" } : { method });
  } catch (err) {
    throw new Error(`cannot reach ${url}: ${err.message}`);
  }
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  const type = (response.headers.get("content-type") || "").split(";")[0].trim();
  if (mime && type !== mime) {
    throw new Error(`${url} is served as '${type || "no type"}', not '${mime}'; Pyodide would hang`);
  }
  return response;
}

/**
 * Check what would otherwise make loadPyodide hang or fail obscurely (it runs alongside,
 * so a good runtime pays nothing). Resolves to the wheel's bytes. Errors carry phase "preflight".
 */
async function preflight(options) {
  const [wheel] = await Promise.all([
    checkedFetch(options.wheelURL),
    checkedFetch(options.indexURL + "pyodide.asm.wasm", { method: "HEAD", mime: "application/wasm" }),
    checkedFetch(options.indexURL + "pyodide.mjs", { method: "HEAD" }),
    checkedFetch(options.stdLibURL || options.indexURL + "python_stdlib.zip", { method: "HEAD" }),
    checkedFetch(options.indexURL + "pyodide-lock.json", { method: "HEAD" }),
  ]).catch((err) => {
    err.phase = "preflight";
    throw err;
  });
  return wheel.arrayBuffer();
}

async function boot(options) {
  timeline = Boolean(options.timeline);
  mark("boot message");
  let phase = "preflight";
  try {
    status("starting", "checking the runtime files");
    const wheelBytes = preflight(options);
    wheelBytes.then(() => mark("preflight done"), () => {}); // observed below, through Promise.all
    wheelBytecode = new WheelBytecode(options.indexURL, wheelBytes); // read while Pyodide loads
    stdlibBytecode = new StdlibBytecode(options.indexURL);
    const wheelFiles = wheelBytes.then(inflateWheel).then((files) => {
      mark("wheel inflated");
      return files;
    }).catch((err) => {
      console.warn("unpacking the wheel in JavaScript failed; Python unpacks it", err);
      return null;
    });

    phase = "loading_runtime";
    status("loading_runtime", `loading Pyodide from ${options.indexURL}`);
    const load = async () => {
      const { loadPyodide } = await import(options.indexURL + "pyodide.mjs");
      mark("pyodide.mjs imported");
      return loadPyodide({
        indexURL: options.indexURL,
        // The standard library with its bytecode (bento_wasm/runtime/stdlib.py): Pyodide then
        // compiles none of the 112 modules it imports as it starts (~1 s of loadPyodide).
        ...(options.stdLibURL ? { stdLibURL: options.stdLibURL } : {}),
        env: { HOME: "/home/pyodide", ...options.env },
        stdout: (text) => rawStream("stdout", text),
        stderr: (text) => rawStream("stderr", text),
      });
    };
    let wheel;
    [pyodide, wheel] = await withTimeout(Promise.all([load(), wheelBytes]), options.bootTimeoutMs, "loadPyodide");
    // Attached only while a cell's own Python runs (see execute): package loading and the
    // background preload run Python that would swallow the KeyboardInterrupt.
    if (options.interruptBuffer) interruptView = new Int32Array(options.interruptBuffer);
    if (options.stdinBuffer) {
      stdinState = new Int32Array(options.stdinBuffer, 0, 2);
      stdinBytes = new Uint8Array(options.stdinBuffer, 8);
    } else if (options.stdin?.url) {
      stdinServer = options.stdin;
    }
    // After a fatal error Pyodide never settles the running call; report it at once instead
    // (API.on_fatal is Pyodide 0.27's hook for this, on its private _api object).
    pyodide._api.on_fatal = (err) => fatal(
      `Pyodide suffered a fatal error: ${err && err.message ? err.message : err}`,
      "running",
      "Restart the kernel; the namespace is lost. Please report the cell that caused it.",
    );

    mark("loadPyodide done");
    loadEachLibraryOnce(pyodide); // pyarrow's 40 MB libarrow_python.so once, not twice
    unpackWheelsFaster(pyodide); // package wheels by bento_wasm/browser/unpack.py
    phase = "installing";
    status("installing", `installing ${options.wheelURL.split("/").pop()}`);
    // sys.path already names site-packages; sysconfig would cost 30 ms here.
    const sitePackages = pyodide.runPython("import sys; [p for p in sys.path if p.endswith('site-packages')][0]");
    const files = await wheelFiles; // inflated while Pyodide loaded (wheel.js)
    if (files) writeWheel(pyodide.FS, files, sitePackages);
    else pyodide.unpackArchive(wheel, "wheel", { extractDir: sitePackages });
    const kept = await wheelBytecode.restore(pyodide);
    mark(kept ? "kernel bytecode restored" : "no kernel bytecode kept");
    mark(`standard library bytecode for ${await stdlibBytecode.install(pyodide)} modules`);
    const workerModule = pyodide.pyimport("bento_wasm.browser.worker");
    const { protocol, interruptBuffer, stdinBuffer, ...kernelOptions } = options;
    kernel = workerModule.start(post, pyodide.toPy(kernelOptions));
    workerModule.destroy();
    mark("kernel started");
  } catch (err) {
    phase = err.phase || phase;
    const message = err.message || String(err);
    fatal(message, phase, hintFor(phase, options, message));
    return;
  }
  bootOptions = options;
  status("idle", "ready");
  preload(options.preload || []);
}

function hintFor(phase, options, message) {
  if (phase !== "installing" && !message.includes(options.wheelURL)) {
    return `Check that the Pyodide runtime is assembled and served at ${options.indexURL} ` +
      "(python -m bento_wasm.runtime assemble) with .wasm as application/wasm.";
  }
  return `Check that the wheel at ${options.wheelURL} was built from this release (./dev wheel).`;
}

/**
 * Load heavy packages in the background: a plain cell never waits for them. Their bytecode
 * from an earlier visit is read and written back once they are loaded (bytecode.js).
 */
async function preload(packages) {
  if (!packages.length) return;
  // The first cell comes first: the preload's CPU work (unzipping, loading dynlibs) would run
  // between that cell's own steps, and packages loaded meanwhile would count as the cell's (a
  // %pip cell's "Successfully installed"). A page that sends none soon enough does not wait.
  const graceOver = new Promise((resolve) => setTimeout(() => cellStarted || resolve(), PRELOAD_GRACE_MS));
  await Promise.race([firstCell, graceOver]);
  const t0 = performance.now();
  mark("preload start");
  // The kept bytecode is read (browser I/O) and written into its tree while the packages load:
  // it lies apart from site-packages, and is used by the first import after both are done.
  const restoring = keptBytecode()?.restore() ?? Promise.resolve(0);
  restoring.catch(() => {}); // observed below
  try {
    await pyodide.loadPackage(packages, { messageCallback: () => {}, errorCallback: (m) => rawStream("stderr", m) });
    mark("preload done");
    mark(`libraries: ${dynlibCounts.ahead} compiled ahead, ${dynlibCounts.bytes} from their bytes`);
    const restored = await restoring;
    mark(`bytecode restored for ${restored} packages`);
    // The kernel's state stays what the page was last told: busy while a cell runs (it says
    // idle when it ends), idle during a completion's answer (which sends no status of its own).
    post(P.make(T.status, {
      state: P.states[lastState],
      detail: `preloaded ${packages.join(", ")} in ${((performance.now() - t0) / 1000).toFixed(2)} s` +
        (bytecode?.describe(restored) ?? ""),
      elapsed_s: elapsed(),
    }));
  } catch (err) {
    rawStream("stderr", `preloading ${packages.join(", ")} failed: ${err.message}`);
  }
}

/** How long the preload waits for a first cell after the kernel is ready (ms). */
const PRELOAD_GRACE_MS = 200;
let cellStarted = false; // then the preload waits for the first cell's end
let firstCellEnded = null;
const firstCell = new Promise((resolve) => {
  firstCellEnded = resolve;
});

/** Whether every preloaded package is loaded (a cell may import them now). */
function preloaded() {
  const names = bootOptions?.preload || [];
  return names.length > 0 && names.every((name) => name in pyodide.loadedPackages);
}

/**
 * The BytecodeCache: made as the preload starts (its read and write-back run while the
 * packages load), or by a cell that imports them first; the preload starts after the first
 * cell (or its grace period), so none of it runs before a plain first cell. Null without a
 * preload or if it cannot be made (imports then compile as before).
 */
function keptBytecode() {
  if (bytecode === null && !bytecodeFailed && bootOptions?.preload?.length) {
    try {
      bytecode = new BytecodeCache(pyodide, bootOptions, bootOptions.preload);
    } catch (err) {
      bytecodeFailed = true; // tried once
      console.warn("the bytecode of an earlier visit is not available", err);
    }
  }
  return bytecode;
}

/**
 * After a cell: keep bento_wasm's bytecode (after the first cell, if the cache lacked it) and
 * the preloaded packages' bytecode (once they are imported) for the next visit.
 */
async function keepBytecode() {
  try {
    if (await wheelBytecode?.saveIfMissing(pyodide)) mark("kernel bytecode kept");
  } catch (err) {
    console.warn("keeping the kernel's bytecode for the next visit failed", err);
  }
  try {
    if (await stdlibBytecode?.saveIfGrown()) mark("standard library bytecode kept");
  } catch (err) {
    console.warn("keeping the standard library's bytecode for the next visit failed", err);
  }
  if (!bytecode) return; // made by the preload or by the first cell that imports its packages
  try {
    const kept = await bytecode.saveIfReady();
    if (kept.length) mark(`bytecode kept for ${kept.join(", ")}`);
  } catch (err) {
    console.warn("keeping the bytecode for the next visit failed", err);
  }
}

/** Output written below Python's sys.stdout (C extensions, Pyodide itself). */
function rawStream(name, text) {
  if (!currentCell) return;
  post(P.make(T.stream, { id: currentCell, name, text: text + "\n" }));
}

async function execute(msg) {
  currentCell = msg.id;
  status("busy", msg.id);
  cellStarted = true;
  cellMark(`execute ${msg.id} start`);
  await loadCellPackages(pyodide, kernel, msg.code, (m) => rawStream("stderr", m));
  cellMark(`execute ${msg.id} packages loaded`);
  await loadCellWheels(pyodide, kernel, msg.code, (m) => rawStream("stderr", m));
  // The preloaded packages are loaded: their kept bytecode first, a cell may import them now.
  if (preloaded()) await keptBytecode()?.restore();
  cellMark(`execute ${msg.id} restored`);
  // An interrupt sent while packages loaded is still pending in the buffer: it stops the cell
  // before any of it runs (raised inside Python it would surface at whatever bytecode runs
  // first, possibly in Pyodide's own conversion of the call).
  if (interruptView && Atomics.load(interruptView, 0) !== 0) {
    Atomics.store(interruptView, 0, 0);
    const evalue = "interrupted before the cell started (while its packages loaded)";
    post(P.make(T.error, { id: msg.id, ename: "KeyboardInterrupt", evalue, traceback: [`KeyboardInterrupt: ${evalue}`] }));
    post(P.make(T.execute_reply, { id: msg.id, status: P.replyStatuses.error, execution_count: 0, duration_ms: 0 }));
    currentCell = "";
    firstCellEnded();
    status("idle", "");
    return;
  }
  if (interruptView) pyodide.setInterruptBuffer(interruptView);
  interruptsAttached = Boolean(interruptView);
  try {
    await kernel.execute(msg.id, msg.code);
  } catch (err) {
    // Python errors are reported by the kernel itself; this is Pyodide failing underneath.
    const message = err && err.message ? err.message : String(err);
    // An interrupt that was pending before the cell's code began surfaces here as a PythonError.
    const ename = err && err.type === "KeyboardInterrupt" ? err.type : "KernelError";
    post(P.make(T.error, { id: msg.id, ename, evalue: message, traceback: [message] }));
    post(P.make(T.execute_reply, { id: msg.id, status: P.replyStatuses.error, execution_count: 0, duration_ms: 0 }));
    if (err && err.pyodide_fatal_error) {
      fatal(`Pyodide suffered a fatal error: ${message}`, "running", "Restart the kernel; the namespace is lost.");
      return;
    }
  } finally {
    currentCell = "";
    interruptsAttached = false;
    if (interruptView) {
      pyodide.setInterruptBuffer(undefined);
      Atomics.store(interruptView, 0, 0); // an interrupt that came too late is not for the next cell
    }
  }
  cellMark(`execute ${msg.id} ran`);
  firstCellEnded();
  await keepBytecode(); // after the reply: the cell's result never waits for it
  status("idle", "");
}
