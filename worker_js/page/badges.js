// Badges on cells that ran remotely, and why. A `%%remote` cell says so itself (its first line);
// an automatic offload and a `@remote` call show a badge output (bento_wasm/badges.py): a
// display_data whose bundle holds P.mimeTypes.badge {label, why} beside a text/plain line. The
// line stays in the outputs (muted); the badge summarises it, also when the notebook is reopened.

/** The badge for a cell about to run: `%%remote` as its first line. */
export function badgeForSource(cell) {
  const first = cell.source.trimStart().split("\n", 1)[0];
  if (/^%%remote\b/.test(first)) {
    cell.setBadge("offload", "remote", "%%remote: this cell runs on the executor's kernel");
  }
}

/** The badge an output carries, if any, put on `cell` (live outputs and reopened ones alike). */
export function badgeFromOutput(P, cell, output) {
  const badge = output.data?.[P.mimeTypes.badge];
  if (badge) cell.setBadge("offload", String(badge.label || "remote"), String(badge.why || ""));
}
