// A small EXIF reader: DateTimeOriginal, GPS latitude/longitude and Orientation.
// Reads the APP1 "Exif" segment of a JPEG (TIFF structure, either byte order); for other
// containers (HEIC) it looks for a TIFF header near the start of the file. It must never
// throw: a photo with broken metadata is still a photo.

const TYPE_SIZE = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8 };
const TAG = {
  orientation: 0x0112, dateTime: 0x0132, exifIfd: 0x8769, gpsIfd: 0x8825,
  dateTimeOriginal: 0x9003, dateTimeDigitized: 0x9004,
  latRef: 0x0001, lat: 0x0002, lonRef: 0x0003, lon: 0x0004,
};
const MAX_ENTRIES = 512;
const HEAD_BYTES = 512 * 1024;

function empty() {
  return { orientation: null, takenAt: null, lat: null, lon: null };
}

/** A bounds-checked reader over one TIFF block. */
class Tiff {
  constructor(view, start, end) {
    this.view = view;
    this.start = start;
    this.end = Math.min(end, view.byteLength);
    const order = view.getUint16(start);
    if (order === 0x4949) this.le = true;
    else if (order === 0x4d4d) this.le = false;
    else throw new Error("not TIFF");
    if (this.u16(2) !== 42) throw new Error("not TIFF");
  }

  check(off, size) {
    if (off < 0 || this.start + off + size > this.end) throw new RangeError("outside TIFF");
  }

  u8(off) { this.check(off, 1); return this.view.getUint8(this.start + off); }
  u16(off) { this.check(off, 2); return this.view.getUint16(this.start + off, this.le); }
  u32(off) { this.check(off, 4); return this.view.getUint32(this.start + off, this.le); }
  i32(off) { this.check(off, 4); return this.view.getInt32(this.start + off, this.le); }

  /** Return {tag: {type, count, at}} for one IFD (at = offset of the value). */
  ifd(off) {
    const entries = {};
    const n = this.u16(off);
    if (n > MAX_ENTRIES) throw new RangeError("too many entries");
    for (let i = 0; i < n; i += 1) {
      const e = off + 2 + i * 12;
      const tag = this.u16(e);
      const type = this.u16(e + 2);
      const count = this.u32(e + 4);
      const size = (TYPE_SIZE[type] || 0) * count;
      if (!size) continue;
      const at = size <= 4 ? e + 8 : this.u32(e + 8);
      entries[tag] = { type, count, at };
    }
    return entries;
  }

  ascii(entry) {
    if (!entry || entry.type !== 2) return null;
    let s = "";
    for (let i = 0; i < Math.min(entry.count, 64); i += 1) {
      const c = this.u8(entry.at + i);
      if (c === 0) break;
      s += String.fromCharCode(c);
    }
    return s;
  }

  uint(entry) {
    if (!entry) return null;
    if (entry.type === 3) return this.u16(entry.at);
    if (entry.type === 4) return this.u32(entry.at);
    return null;
  }

  rationals(entry, n) {
    // RATIONAL per the standard; some phones write SRATIONAL.
    if (!entry || (entry.type !== 5 && entry.type !== 10) || entry.count < n) return null;
    const read = entry.type === 5 ? (o) => this.u32(o) : (o) => this.i32(o);
    const out = [];
    for (let i = 0; i < n; i += 1) {
      const num = read(entry.at + i * 8);
      const den = read(entry.at + i * 8 + 4);
      if (den === 0) return null;
      out.push(num / den);
    }
    return out;
  }
}

/** Turn "YYYY:MM:DD HH:MM:SS" into "YYYY-MM-DDTHH:MM:SS", or null if it is not a real time. */
export function exifDate(text) {
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(text || "");
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  if (y < 1990 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return null;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
}

function degrees(dms, ref, limit, negativeRef) {
  if (!dms) return null;
  if (dms.some((x) => x < 0)) return null;
  const value = dms[0] + dms[1] / 60 + dms[2] / 3600;
  if (!Number.isFinite(value) || value > limit) return null;
  const sign = ref && ref.toUpperCase().startsWith(negativeRef) ? -1 : 1;
  return Math.round(sign * value * 1e7) / 1e7;
}

function parseTiff(view, start, end) {
  const out = empty();
  const t = new Tiff(view, start, end);
  const ifd0 = t.ifd(t.u32(4));
  const attempt = (fn) => { try { fn(); } catch (_) { /* keep what was read so far */ } };

  attempt(() => {
    const o = t.uint(ifd0[TAG.orientation]);
    if (o >= 1 && o <= 8) out.orientation = o;
  });
  attempt(() => {
    if (!ifd0[TAG.exifIfd]) return;
    const exif = t.ifd(t.uint(ifd0[TAG.exifIfd]));
    out.takenAt = exifDate(t.ascii(exif[TAG.dateTimeOriginal]))
      || exifDate(t.ascii(exif[TAG.dateTimeDigitized]));
  });
  attempt(() => {
    if (!out.takenAt) out.takenAt = exifDate(t.ascii(ifd0[TAG.dateTime]));
  });
  attempt(() => {
    if (!ifd0[TAG.gpsIfd]) return;
    const gps = t.ifd(t.uint(ifd0[TAG.gpsIfd]));
    const lat = degrees(t.rationals(gps[TAG.lat], 3), t.ascii(gps[TAG.latRef]), 90, "S");
    const lon = degrees(t.rationals(gps[TAG.lon], 3), t.ascii(gps[TAG.lonRef]), 180, "W");
    // Many cameras write 0/0 when they had no fix.
    if (lat != null && lon != null && !(lat === 0 && lon === 0)) {
      out.lat = lat;
      out.lon = lon;
    }
  });
  return out;
}

function jpegTiffStart(view) {
  let off = 2;
  while (off + 4 <= view.byteLength) {
    if (view.getUint8(off) !== 0xff) return -1;
    const marker = view.getUint8(off + 1);
    if (marker === 0xff) { off += 1; continue; } // fill byte
    if (marker === 0xd9 || marker === 0xda) return -1; // end of image / start of scan
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { off += 2; continue; }
    const size = view.getUint16(off + 2);
    if (size < 2) return -1;
    if (marker === 0xe1 && off + 10 <= view.byteLength
        && view.getUint32(off + 4) === 0x45786966 && view.getUint16(off + 8) === 0) {
      return { start: off + 10, end: off + 2 + size };
    }
    off += 2 + size;
  }
  return -1;
}

function scanTiffStart(view) {
  // HEIC and friends: find "II*\0" + IFD at 8, or "MM\0*" + IFD at 8, near the start.
  const n = Math.min(view.byteLength, HEAD_BYTES) - 8;
  for (let i = 0; i < n; i += 1) {
    const a = view.getUint32(i);
    if ((a === 0x49492a00 && view.getUint32(i + 4, true) === 8)
        || (a === 0x4d4d002a && view.getUint32(i + 4) === 8)) {
      return { start: i, end: view.byteLength };
    }
  }
  return -1;
}

/** Read EXIF facts from the start of an image file (ArrayBuffer); never throws. */
export function readExif(buffer) {
  try {
    const view = new DataView(buffer);
    if (view.byteLength < 12) return empty();
    const isJpeg = view.getUint16(0) === 0xffd8;
    const where = isJpeg ? jpegTiffStart(view) : scanTiffStart(view);
    if (where === -1) return empty();
    return parseTiff(view, where.start, where.end);
  } catch (_) {
    return empty();
  }
}

/** Read EXIF facts from a File or Blob (only its first bytes); never throws. */
export async function readExifFromFile(file) {
  try {
    const head = await file.slice(0, HEAD_BYTES).arrayBuffer();
    return readExif(head);
  } catch (_) {
    return empty();
  }
}
