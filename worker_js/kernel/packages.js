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
