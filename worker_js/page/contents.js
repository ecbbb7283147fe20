// Jupyter Server's contents API (/api/contents/<path>), with token auth.
// https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html

export class ContentsError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ContentsError";
    this.status = status;
  }
}

function encodePath(path) {
  return path.split("/").filter(Boolean).map(encodeURIComponent).join("/");
}

export class Contents {
  /** baseUrl: the server's base URL ending in "/"; token: the server token (may be empty). */
  constructor(baseUrl, token) {
    this.baseUrl = baseUrl;
    this.token = token;
  }

  url(path, query = "") {
    return `${this.baseUrl}api/contents/${encodePath(path)}${query}`;
  }

  async request(method, path, { query = "", body } = {}) {
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = `token ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(this.url(path, query), {
        method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ContentsError(`cannot reach the Jupyter server at ${this.baseUrl}: ${err.message}; ` +
        "is `./dev run` still running?", 0);
    }
    if (response.ok) return response.json();
    let reason = "";
    try {
      reason = (await response.json()).message || "";
    } catch {
      // not JSON: the status says enough
    }
    throw new ContentsError(this.explain(response.status, path, reason), response.status);
  }

  explain(status, path, reason) {
    if (status === 403 || status === 401) {
      return `the server refused the token (HTTP ${status}); open the page with the URL that ` +
        "`./dev run` printed (it ends in ?token=...)";
    }
    if (status === 404) return `there is no notebook at '${path}' (HTTP 404); check the path or save to create it`;
    return `the server could not handle '${path}' (HTTP ${status}${reason ? `: ${reason}` : ""})`;
  }

  /** The parsed notebook at `path`. */
  async getNotebook(path) {
    return (await this.getNotebookModel(path)).content;
  }

  /** The server's model: `content` (the notebook, upgraded to nbformat 4) and `message`
   *  (set when the notebook fails nbformat validation: the problem, then the offending part). */
  async getNotebookModel(path) {
    return this.request("GET", path, { query: "?type=notebook&content=1" });
  }

  /** Save a notebook document (nbformat JSON) at `path`; resolves with the server's model. */
  async saveNotebook(path, content) {
    return this.request("PUT", path, { body: { type: "notebook", format: "json", content } });
  }
}
