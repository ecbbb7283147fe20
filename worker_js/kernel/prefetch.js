// The preload's package wheels, fetched and inflated by a helper worker.
//
// Pyodide's loadPackage unpacks each wheel in Python, one package after another: about 0.7 s
// of a returning visit's preload went to inflating numpy, pandas, pyarrow and their
// dependencies in WebAssembly zlib. Here a helper worker (prefetch_worker.js, on another core)
// fetches the same files (the locked files are immutable: the HTTP cache answers on a returning
// visit), checks each against the lock's sha256 and inflates it with the browser's own zlib;
// when Pyodide's loader then unpacks that wheel (unpack.js), its files are only written into
// the file system (which takes ownership of the buffers: no copy).
//
// worker.js starts it when the preload starts (after the first cell: started with the boot,
// its fetching, hashing and inflating slowed the boot down on two cores) or when a cell
// imports a preloaded package first. A wheel not prefetched (the helper failed, a sha256 that
// is not the lock's, a Node.js host without it) is unpacked as before, from the bytes
// Pyodide fetched and checked.

/** How long the preload waits for the helper at most (ms): past that, it unpacks itself. */
const WAIT_MS = 30000;

export class PackagePrefetch {
  /** Start fetching `packages` (and their dependencies) from `indexURL` in a helper worker. */
  constructor(indexURL, packages) {
    this.wheels = new Map(); // file name -> {sha256, files}
    this.planned = new Set(); // the names of the packages being prefetched
    this.received = 0; // wheels the helper passed on
    this.settled = false;
    this.failures = [];
    let finish;
    this.done = new Promise((resolve) => {
      finish = resolve;
    });
    const timer = setTimeout(() => this.stop(), WAIT_MS);
    this.stop = () => {
      clearTimeout(timer);
      this.settled = true;
      this.helper?.terminate();
      finish();
    };
    try {
      this.helper = new Worker(new URL("./prefetch_worker.js", import.meta.url), { type: "module", name: "bento-prefetch" });
    } catch (err) {
      this.failures.push(`no helper worker: ${err.message}`);
      this.stop();
      return;
    }
    this.helper.onmessage = ({ data }) => {
      if (data.planned) this.planned = new Set(data.planned);
      if (data.files) {
        this.wheels.set(data.file_name, { sha256: data.sha256, files: data.files });
        this.received += 1;
      }
      if (data.error) this.failures.push(data.file_name ? `${data.file_name}: ${data.error}` : data.error);
      if (data.done) this.stop();
    };
    this.helper.onerror = (event) => {
      this.failures.push(`the helper failed: ${event.message}`);
      this.stop();
    };
    this.helper.postMessage({ indexURL, packages });
  }

  /** The inflated files of `fileName` if prefetched with the sha256 `sha256` (once; else null). */
  take(fileName, sha256) {
    const wheel = this.wheels.get(fileName);
    this.wheels.delete(fileName);
    return wheel && sha256 && wheel.sha256 === sha256 ? wheel.files : null;
  }
}
