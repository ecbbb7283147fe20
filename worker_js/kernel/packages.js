// The packages a cell imports, loaded before it runs: one definition for the browser worker
// (worker.js) and the Node.js host of headless runs (../node/host.mjs).
//
// The kernel's import scan sees through bento's line magics; a failure is reported on the
// cell's stderr (`report`) and the cell still runs, so its own ImportError names the module.
export async function loadCellPackages(pyodide, kernel, code, report) {
  try {
    await pyodide.loadPackagesFromImports(kernel.import_scan_source(code), {
      messageCallback: () => {},
      errorCallback: (m) => report(m),
    });
  } catch (err) {
    report(`loading packages failed: ${err.message}`);
  }
}

// The runtime's extra wheels a cell imports (ipywidgets, comm: bento_wasm/runtime_wheels.json),
// installed with micropip from the runtime folder, as JupyterLite installs its own wheels:
// no network. Their dependencies that Pyodide has (IPython, traitlets) came with the lock above.
export async function loadCellWheels(pyodide, kernel, code, report) {
  let urls = [];
  try {
    urls = kernel.runtime_wheels_for(code).toJs();
    if (!urls.length) return;
    await pyodide.loadPackage("micropip", { messageCallback: () => {}, errorCallback: (m) => report(m) });
    const micropip = pyodide.pyimport("micropip");
    await micropip.install.callKwargs(urls, { deps: false });
  } catch (err) {
    report(`installing ${urls.map((u) => u.split("/").pop()).join(", ")} failed: ${err.message}\n` +
      "Assemble the runtime again (bento runtime assemble) so that it has them.");
  }
}
