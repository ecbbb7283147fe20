// The memory meter of the serverless kernel: after each cell the worker sends a `memory` message
// (bento_wasm.memory: snapshot, delta_bytes, budget_bytes, used_fraction, thresholds); the meter
// shows in use / budget, and the cell that moved memory a lot gets a badge with its change.

const MIB = 2 ** 20;
const BADGE_BYTES = 8 * MIB; // smaller changes are noise (allocator slack, caches)

export function formatBytes(n) {
  const abs = Math.abs(n);
  if (abs >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (abs >= MIB) return `${(n / MIB).toFixed(abs >= 100 * MIB ? 0 : 1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

export class MemoryMeter {
  constructor(P, node) {
    this.P = P;
    this.node = node;
    this.kernel = null;
    this.onMemory = (e) => this.show(e.detail);
  }

  /** Follow `kernel` (only BentoKernel sends memory messages); `cellFor()` names the running cell. */
  attach(kernel, cellFor) {
    this.kernel?.removeEventListener(this.P.types.memory, this.onMemory);
    this.kernel = kernel;
    this.cellFor = cellFor;
    this.node.hidden = true;
    this.node.replaceChildren();
    kernel?.addEventListener(this.P.types.memory, this.onMemory);
  }

  show(msg) {
    const { snapshot = {}, budget_bytes: budget, used_fraction: fraction, thresholds = [] } = msg;
    const used = snapshot.used_bytes ?? snapshot.reserved_bytes ?? 0;
    const crossed = thresholds.filter((t) => fraction >= t).length;
    this.node.dataset.level = crossed === 0 ? "ok" : crossed === 1 ? "warn" : "high";
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = `${Math.min(100, Math.max(1, fraction * 100)).toFixed(1)}%`;
    bar.append(fill);
    const text = document.createElement("span");
    text.className = "memory-text";
    text.textContent = `memory ${formatBytes(used)} of ${formatBytes(budget)} (${Math.round(fraction * 100)}%)`;
    this.node.replaceChildren(bar, text);
    this.node.title = `wasm heap ${formatBytes(snapshot.heap_bytes ?? 0)} of ${formatBytes(snapshot.ceiling_bytes ?? 0)}` +
      ` ceiling; budget ${formatBytes(budget)}; warnings at ${thresholds.map((t) => `${Math.round(t * 100)}%`).join(", ")}` +
      "; %memory shows the details";
    this.node.hidden = false;
    const cell = this.cellFor?.();
    if (cell) {
      const delta = msg.delta_bytes || 0;
      cell.setBadge("mem", Math.abs(delta) >= BADGE_BYTES ? `${delta > 0 ? "+" : "−"}${formatBytes(Math.abs(delta))}` : "",
        "change in memory in use during this cell");
    }
  }
}
