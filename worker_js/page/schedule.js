// Schedule… dialog and Runs pane. The DAG file comes from the server's generator (the one
// `bento schedule` uses): the page only gathers the choices, shows the preview, runs once
// through the server (Run now) and saves the file through Jupyter Server's contents API.
// Endpoints: bento_wasm/server/scheduleapi.py.

const $ = (id) => document.getElementById(id);

/** A -p value as papermill reads it: true/false/null/numbers as such, anything else a string. */
export function parseValue(text) {
  const named = { True: true, False: false, None: null, true: true, false: false, null: null };
  if (text in named) return named[text];
  if (text.trim() !== "" && !Number.isNaN(Number(text))) return Number(text);
  return text;
}

function show(value) {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  return String(value);
}

export class Scheduler {
  /** page: the Page (token, baseUrl, contents, notebook, banner). */
  constructor(page) {
    this.page = page;
    this.dialog = $("schedule-dialog");
    $("schedule").addEventListener("click", () => this.open());
    $("runs").addEventListener("click", () => this.showRuns());
    $("schedule-close").addEventListener("click", () => this.dialog.close());
    $("schedule-preview-button").addEventListener("click", () => this.preview());
    $("schedule-run").addEventListener("click", () => this.runNow());
    $("schedule-save").addEventListener("click", () => this.save());
    $("schedule-add-parameter").addEventListener("click", () => this.addParameter("", ""));
    for (const radio of document.querySelectorAll("input[name=schedule-when]")) {
      radio.addEventListener("change", () => { $("schedule-cron").disabled = this.when() !== "cron"; });
    }
    $("runs-close").addEventListener("click", () => { $("runs-pane").hidden = true; });
  }

  async api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (this.page.token) headers.Authorization = `token ${this.page.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`${this.page.baseUrl}bento/api/schedule/${path}`, {
      method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = answer.error || {};
      throw new Error(error.evalue || answer.message || `HTTP ${response.status}`);
    }
    return answer;
  }

  get notebookPath() {
    return this.page.notebook.path;
  }

  when() {
    return document.querySelector("input[name=schedule-when]:checked").value;
  }

  status(text, kind = "info") {
    const box = $("schedule-status");
    box.textContent = text;
    box.dataset.kind = kind;
  }

  addParameter(name, value) {
    const row = document.createElement("div");
    row.className = "schedule-parameter";
    const key = Object.assign(document.createElement("input"), { value: name, placeholder: "name" });
    key.className = "parameter-name";
    const val = Object.assign(document.createElement("input"), { value, placeholder: "value or {{ ds }}" });
    val.className = "parameter-value";
    const drop = Object.assign(document.createElement("button"), { type: "button", textContent: "✕" });
    drop.addEventListener("click", () => row.remove());
    row.append(key, val, drop);
    $("schedule-parameters").append(row);
  }

  parameters() {
    const found = {};
    for (const row of $("schedule-parameters").children) {
      const name = row.querySelector(".parameter-name").value.trim();
      if (name) found[name] = parseValue(row.querySelector(".parameter-value").value);
    }
    return found;
  }

  choices() {
    const cron = this.when() === "cron";
    return {
      notebook: this.notebookPath,
      cron: cron ? $("schedule-cron").value.trim() : null,
      on_assets: !cron,
      parameters: this.parameters(),
      owner: $("schedule-owner").value.trim(),
      output_dir: $("schedule-output").value.trim(),
    };
  }

  async open() {
    if (this.page.notebook.dirty) await this.page.save(); // the schedule runs the saved file
    $("schedule-notebook").textContent = this.notebookPath;
    $("schedule-parameters").replaceChildren();
    $("schedule-preview").textContent = "";
    $("schedule-record").replaceChildren();
    this.status("");
    this.dialog.showModal();
    try {
      const info = await this.api("GET", `notebook?path=${encodeURIComponent(this.notebookPath)}`);
      for (const [name, value] of Object.entries(info.parameters)) this.addParameter(name, show(value));
      $("schedule-output").value = info.output_dir;
      $("schedule-inputs").textContent = info.inputs.length ? info.inputs.join(", ") : "none (use a cron schedule)";
      this.dagsDir = info.dags_dir;
    } catch (err) {
      this.status(`Cannot read the notebook: ${err.message}`, "alert");
    }
  }

  async preview() {
    try {
      this.lastPreview = await this.api("POST", "preview", { ...this.choices(), dags_dir: this.dagsDir });
      $("schedule-preview").textContent = this.lastPreview.source;
      this.status(`Preview of ${this.lastPreview.path}${this.lastPreview.exists ? " (replaces the file there)" : ""}.`);
      return this.lastPreview;
    } catch (err) {
      $("schedule-preview").textContent = "";
      this.status(err.message, "alert");
      return null;
    }
  }

  async save() {
    const preview = await this.preview();
    if (!preview) return;
    const folder = preview.path.split("/").slice(0, -1).join("/");
    try {
      if (folder) await this.page.contents.request("PUT", folder, { body: { type: "directory" } });
      await this.page.contents.request("PUT", preview.path, {
        body: { type: "file", format: "text", content: preview.source },
      });
      this.status(`Saved ${preview.path}: review it, then put it in your Airflow's dags folder.`, "ok");
    } catch (err) {
      this.status(`Cannot save ${preview.path}: ${err.message}`, "alert");
    }
  }

  async runNow() {
    const { notebook, parameters, output_dir } = this.choices();
    this.status("Running the notebook headless on the server…");
    $("schedule-record").replaceChildren();
    try {
      const done = await this.api("POST", "run", { notebook, parameters, output_dir });
      const link = this.recordLink(done.record, done.failing_cell ? done.failing_cell.index : null);
      $("schedule-record").append(link);
      if (done.status === "completed") this.status("The run completed; its record:", "ok");
      else this.status(`The run failed: ${done.error.ename}: ${done.error.evalue}. Its record:`, "alert");
    } catch (err) {
      this.status(`The run could not start: ${err.message}`, "alert");
    }
  }

  /** A link that opens a record read-only (no kernel), scrolled to `cell` when given. */
  recordLink(record, cell) {
    const params = new URLSearchParams({ path: record, kernel: "none", record: "1" });
    if (this.page.token) params.set("token", this.page.token);
    if (cell !== null && cell !== undefined) params.set("cell", String(cell));
    const link = document.createElement("a");
    link.href = `${location.pathname}?${params}`;
    link.target = "_blank";
    link.className = "record-link";
    link.textContent = record;
    return link;
  }

  async showRuns() {
    const pane = $("runs-pane");
    const list = $("runs-list");
    pane.hidden = false;
    list.replaceChildren();
    try {
      const output = $("schedule-output").value.trim();
      const query = `path=${encodeURIComponent(this.notebookPath)}` + (output ? `&output_dir=${encodeURIComponent(output)}` : "");
      const { runs } = await this.api("GET", `runs?${query}`);
      if (!runs.length) list.textContent = "No runs yet: Schedule… → Run now, or wait for Airflow.";
      for (const run of runs) {
        const item = document.createElement("li");
        item.className = `run-item run-${run.status}`;
        const fail = run.failing_cell;
        const params = Object.entries(run.parameters).map(([k, v]) => `${k}=${show(v)}`).join(" ");
        const head = document.createElement("div");
        head.textContent = `${run.status} · ${run.started || "?"}${params ? ` · ${params}` : ""}`;
        item.append(head);
        if (fail) {
          const why = document.createElement("div");
          why.className = "run-failure";
          why.textContent = `${fail.first_line} → ${fail.ename}: ${fail.evalue}`;
          item.append(why);
        }
        item.append(this.recordLink(run.record, fail ? fail.index : null));
        list.append(item);
      }
    } catch (err) {
      list.textContent = `Cannot list the runs: ${err.message}`;
    }
  }
}
