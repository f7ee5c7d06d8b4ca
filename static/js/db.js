// The one IndexedDB database of the app ("fieldlog"), after Workbox's QueueDb:
// a version constant and an upgrade handler that only ever adds what is missing.
// Never delete a store or an index here: unsent records live in `outbox`.

export const DB_NAME = "fieldlog";
export const DB_VERSION = 1;

// store name -> {keyPath, indexes: {name: keyPath}}
const STORES = {
  outbox: { keyPath: "id", indexes: { seq: "seq", user_id: "user_id", record_id: "record_id" } },
  meta: { keyPath: "key", indexes: {} },
  sent: { keyPath: "id", indexes: { sent_at: "sent_at" } },
};

let opening = null;

/** Create the stores and indexes that are missing; never drop anything. */
function upgrade(db, tx) {
  for (const [name, spec] of Object.entries(STORES)) {
    const store = db.objectStoreNames.contains(name)
      ? tx.objectStore(name)
      : db.createObjectStore(name, { keyPath: spec.keyPath });
    for (const [index, keyPath] of Object.entries(spec.indexes)) {
      if (!store.indexNames.contains(index)) store.createIndex(index, keyPath);
    }
  }
}

/** Open (once per page) and return the database. */
export function openDB() {
  if (opening) return opening;
  opening = new Promise((resolve, reject) => {
    if (!("indexedDB" in self)) {
      reject(new Error("IndexedDB is not available"));
      return;
    }
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => upgrade(req.result, req.transaction);
    req.onsuccess = () => {
      const db = req.result;
      // Another tab wants a newer version: let it upgrade, reopen on next use.
      db.onversionchange = () => {
        db.close();
        opening = null;
      };
      resolve(db);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => console.warn("fieldlog: database upgrade waits for another tab");
  });
  opening.catch(() => {
    opening = null;
  });
  return opening;
}

/** Wrap an IDBRequest in a promise. */
export function promisify(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Run `work(stores)` in one transaction; resolve with its result once the transaction commits. */
export async function tx(storeNames, mode, work) {
  const db = await openDB();
  const names = Array.isArray(storeNames) ? storeNames : [storeNames];
  return new Promise((resolve, reject) => {
    const t = db.transaction(names, mode);
    const stores = Object.fromEntries(names.map((n) => [n, t.objectStore(n)]));
    let result;
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error("transaction aborted"));
    try {
      Promise.resolve(work(stores, t)).then(
        (value) => {
          result = value;
        },
        (err) => {
          try { t.abort(); } catch (_) { /* already finished */ }
          reject(err);
        },
      );
    } catch (err) {
      try { t.abort(); } catch (_) { /* already finished */ }
      reject(err);
    }
  });
}

/** Return every value of a store (optionally through an index, in index order). */
export function getAll(storeName, indexName) {
  return tx(storeName, "readonly", (s) => {
    const source = indexName ? s[storeName].index(indexName) : s[storeName];
    return promisify(source.getAll());
  });
}

export function get(storeName, key) {
  return tx(storeName, "readonly", (s) => promisify(s[storeName].get(key)));
}

export function put(storeName, value) {
  return tx(storeName, "readwrite", (s) => promisify(s[storeName].put(value)));
}

export function del(storeName, key) {
  return tx(storeName, "readwrite", (s) => promisify(s[storeName].delete(key)));
}

// --- meta: small key/value facts (device tokens per user, last warm-up time) ---

export async function getMeta(key) {
  const row = await get("meta", key);
  return row ? row.value : undefined;
}

export function setMeta(key, value) {
  return put("meta", { key, value });
}

export function deleteMeta(key) {
  return del("meta", key);
}
