// The JS reader of bento_wasm/protocol.json, the one definition of the worker protocol.
// Python reads the same file (bento_wasm/protocol.py); no message type is spelled here.

const CHECKS = {
  string: (v) => typeof v === "string",
  number: (v) => typeof v === "number",
  boolean: (v) => typeof v === "boolean",
  object: (v) => v !== null && typeof v === "object" && !Array.isArray(v),
  array: (v) => Array.isArray(v),
};

/** Names that must exist in the spec: reading an unknown one throws instead of giving undefined. */
function strictNames(names, what) {
  return strictTable(Object.fromEntries(names.map((n) => [n, n])), what);
}

function strictTable(table, what) {
  return new Proxy(table, {
    get(target, key) {
      if (typeof key === "string" && !(key in target)) {
        throw new Error(`protocol has no ${what} '${key}'`);
      }
      return target[key];
    },
  });
}

export class Protocol {
  constructor(spec) {
    this.spec = spec;
    this.version = spec.version;
    /** Message types: `P.types.execute` is "execute", an unknown name throws. */
    this.types = strictNames(Object.keys(spec.messages), "message type");
    /** Kernel states: `P.states.idle`. */
    this.states = strictNames(spec.states, "state");
    /** execute_reply statuses: `P.replyStatuses.ok`. */
    this.replyStatuses = strictNames(spec.reply_statuses, "reply status");
    /** Custom output MIME types: `P.mimeTypes.badge`. */
    const { comment: _, ...mimeTypes } = spec.mime_types;
    this.mimeTypes = strictTable(mimeTypes, "mime type");
  }

  /** Build a message and check it against the spec. */
  make(type, fields = {}) {
    return this.check({ type, ...fields });
  }

  check(msg) {
    const def = this.spec.messages[msg && msg.type];
    if (!def) throw new Error(`unknown message type '${msg && msg.type}' (protocol v${this.version})`);
    for (const [name, declared] of Object.entries(def.fields)) {
      const optional = declared.endsWith("?");
      const value = msg[name];
      if (value === undefined || value === null) {
        if (optional) continue;
        throw new Error(`message '${msg.type}' lacks field '${name}'`);
      }
      if (!CHECKS[declared.replace("?", "")](value)) {
        throw new Error(`field '${name}' of '${msg.type}' must be ${declared}`);
      }
    }
    for (const [key, allowed] of Object.entries(this.spec.enums || {})) {
      const [type, field] = key.split(".");
      const values = typeof allowed === "string" ? this.spec[allowed] : allowed;
      if (type === msg.type && msg[field] != null && !values.includes(msg[field])) {
        throw new Error(`field '${field}' of '${msg.type}' must be one of ${values.join(", ")}`);
      }
    }
    return msg;
  }
}

export async function loadProtocol(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load the protocol from ${url}: HTTP ${response.status}`);
  return new Protocol(await response.json());
}
