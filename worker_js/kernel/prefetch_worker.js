// The package prefetch's helper (a nested module worker of worker.js; see prefetch.js): fetches
// the preload's package wheels and inflates them while the kernel's worker boots Pyodide, on
// the other core. Only a wheel whose sha256 is the lock's is passed on.
import { inflateWheel } from "./wheel.js";

const normal = (name) => name.toLowerCase().replace(/[-_.]+/g, "-");

/** The preload's packages and everything they depend on, as the lock names them. */
function closure(packages, names) {
  const found = new Map();
  const visit = (name) => {
    const key = normal(name);
    const pkg = packages[key];
    if (!pkg || found.has(key)) return;
    found.set(key, pkg);
    for (const dep of pkg.depends || []) visit(dep);
  };
  names.forEach(visit);
  return [...found.values()].filter((pkg) => pkg.file_name.endsWith(".whl") && !pkg.file_name.includes("/"));
}

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

async function prefetch(indexURL, pkg) {
  const url = indexURL + pkg.file_name;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  const buffer = await response.arrayBuffer();
  const sha256 = hex(await crypto.subtle.digest("SHA-256", buffer));
  if (sha256 !== pkg.sha256) throw new Error(`sha256 ${sha256}, the lock says ${pkg.sha256}`);
  // each file its own buffer (a stored entry is a view of the wheel): transferred, not copied
  const files = (await inflateWheel(buffer)).map(([path, content]) =>
    [path, content.byteLength === content.buffer.byteLength ? content : content.slice()]);
  self.postMessage({ file_name: pkg.file_name, sha256, files }, files.map(([, content]) => content.buffer));
}

self.onmessage = async ({ data: { indexURL, packages } }) => {
  try {
    const lock = await (await fetch(indexURL + "pyodide-lock.json")).json();
    const wanted = closure(lock.packages || {}, packages);
    self.postMessage({ planned: wanted.map((pkg) => pkg.name) });
    await Promise.all(wanted.map((pkg) => prefetch(indexURL, pkg).catch((err) => {
      self.postMessage({ file_name: pkg.file_name, error: err.message || String(err) });
    })));
  } catch (err) {
    self.postMessage({ error: err.message || String(err) });
  }
  self.postMessage({ done: true });
};
