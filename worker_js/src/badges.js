// Badges on cells that ran remotely, and why. A `%%remote` cell says so itself; an automatic
// offload announces itself on stderr ("[offload] running this cell on the executor: <why>.",
// bento_wasm/remote.py AutoOffload). The message still shows; the badge summarises it.

const AUTO = /^\[offload\] running this cell on the executor: (.*?)\.?\s*$/m;

/** The badge for a cell about to run: `%%remote` as its first line. */
export function badgeForSource(cell) {
  const first = cell.source.trimStart().split("\n", 1)[0];
  if (/^%%remote\b/.test(first)) {
    cell.setBadge("offload", "remote", "%%remote: this cell runs on the executor's kernel");
  }
}

/** A notebook message handler (never consumes the message): auto-offload notices -> badge. */
export function offloadNotices(P) {
  return (cell, msg) => {
    if (msg.type !== P.types.stream || msg.name !== "stderr") return false;
    const found = AUTO.exec(msg.text);
    if (found) cell.setBadge("offload", "ran remotely (auto)", `automatic offload: ${found[1]}`);
    return false;
  };
}
