"""JavaScript the harness runs in the phone's page: the real outbox module, raw IndexedDB reads."""

# A phone clock the harness can move while pages live: the offset (ms) comes from
# localStorage, so a reloaded page keeps it; `base` is the suite's travelled offset.
SKEWED_DATE = """(() => {
  const base = %d, RealDate = Date;
  const skew = () => { try { return Number(localStorage.getItem('fault-skew-ms') || 0); }
                       catch (_) { return 0; } };
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length) super(...args); else super(RealDate.now() + base + skew());
    }
    static now() { return RealDate.now() + base + skew(); }
  }
  globalThis.Date = SkewedDate;
})();"""

# The page's own outbox module (same fingerprinted URL, so the same module instance).
_OUTBOX_MODULE = """
  const names = performance.getEntriesByType('resource').map((e) => e.name);
  const url = names.find((n) => /\\/static\\/js\\/outbox\\.[0-9a-f]{10}\\.js$/.test(n))
    || '/static/js/outbox.js';
  const { queueRecord } = await import(url);
"""

# Queue records exactly as the forms do (record-form.js queueAll): one queueRecord each.
SAVE = """
async ({ records, photos }) => {""" + _OUTBOX_MODULE + """
  const user = { id: document.body.dataset.userId, name: document.body.dataset.userName };
  const blobs = {};
  for (const [name, b64] of Object.entries(photos)) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i += 1) bytes[i] = bin.charCodeAt(i);
    blobs[name] = new Blob([bytes], { type: 'image/jpeg' });
  }
  const results = [];
  for (const spec of records) {
    const now = new Date();
    const at = new Date(now.getTime() - spec.minutes_ago * 60000).toISOString();
    const record = { ...spec.record, occurred_at: at, device_created_at: now.toISOString() };
    if (record.location) record.location = { ...record.location, located_at: at };
    if (spec.leave_offset != null) {
      const day = (n) => new Date(now.getTime() + n * 86400000).toISOString().slice(0, 10);
      record.start_date = day(spec.leave_offset);
      record.end_date = day(spec.leave_offset + 1);
    }
    const items = spec.photos.map((p) => ({
      id: p.id, blob: blobs[p.name], mime: 'image/jpeg', filename: p.name, taken_at: null,
      lat: null, lon: null, width: null, height: null, original: true, slot: null }));
    try {
      await queueRecord({ record, label: spec.label, userId: user.id, userName: user.name }, items);
      results.push({ id: record.id, ok: true });
    } catch (err) {
      results.push({ id: record.id, ok: false, error: (err && err.name) || String(err) });
    }
    await new Promise((r) => setTimeout(r, 3));
  }
  return results;
}
"""

# Every outbox item, read straight from IndexedDB (not through the app's code).
OUTBOX = """
() => new Promise((resolve, reject) => {
  const req = indexedDB.open('fieldlog');
  req.onerror = () => reject(req.error);
  req.onsuccess = () => {
    const db = req.result;
    if (!db.objectStoreNames.contains('outbox')) { db.close(); resolve([]); return; }
    const all = db.transaction('outbox').objectStore('outbox').getAll();
    all.onsuccess = () => {
      db.close();
      resolve(all.result.map((it) => ({ id: it.id, kind: it.kind, record_id: it.record_id,
        state: it.state, note: it.note || null, error: it.error || null, user_id: it.user_id,
        message: it.message || null, type: it.record ? it.record.type : it.record_type })));
    };
    all.onerror = () => { db.close(); reject(all.error); };
  };
})
"""

SHELL_CACHES = "async () => (await caches.keys()).filter((n) => n.startsWith('fieldlog-shell-'))"

UPDATE_WORKER = """async () => {
  const reg = await navigator.serviceWorker.getRegistration('/');
  if (!reg) return 'none';
  try { await reg.update(); } catch (e) { return 'failed: ' + e.message; }
  return 'asked';
}"""

# A full phone, where it shows: the outbox put of these records raises what a full disk raises.
QUOTA_FULL = """(ids) => {
  const full = new Set(ids);
  const put = window.__realPut || IDBObjectStore.prototype.put;
  window.__realPut = put;
  IDBObjectStore.prototype.put = function full_(value, ...rest) {
    if (this.name === 'outbox' && value && value.kind === 'record' && full.has(value.id)) {
      throw new DOMException('Quota exceeded', 'QuotaExceededError');
    }
    return put.call(this, value, ...rest);
  };
}"""

QUOTA_FREED = """() => {
  if (window.__realPut) IDBObjectStore.prototype.put = window.__realPut;
}"""
