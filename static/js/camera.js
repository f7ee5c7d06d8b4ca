// Photos on the phone: read EXIF from the original bytes, then downscale to a JPEG
// (long edge 1600 px, quality 0.82) so it travels over a weak network. A canvas drops
// EXIF, which is why the time and place are read first and sent as form fields.
// Files the browser cannot decode (HEIC outside Safari) are queued as they are.

import { readExifFromFile } from "./exif.js";
import { uuid4 } from "./outbox.js";

export const LONG_EDGE = 1600;
export const QUALITY = 0.82;
// iOS Safari refuses canvases above 16,777,216 pixels; stay well under.
export const MAX_CANVAS_PIXELS = 16_000_000;
// A small JPEG that needs no scaling is kept as it is (sharper, EXIF intact).
const KEEP_JPEG_BYTES = 1024 * 1024;
const MAX_ORIGINAL_BYTES = 25 * 1024 * 1024;

/** Return the size to draw at: long edge ≤ longEdge and width*height ≤ maxPixels. */
export function targetSize(width, height, longEdge = LONG_EDGE, maxPixels = MAX_CANVAS_PIXELS) {
  let scale = Math.min(1, longEdge / Math.max(width, height));
  if (width * scale * height * scale > maxPixels) scale = Math.sqrt(maxPixels / (width * height));
  return {
    width: Math.max(1, Math.floor(width * scale)),
    height: Math.max(1, Math.floor(height * scale)),
  };
}

function looksLikeImage(file) {
  return (file.type || "").startsWith("image/") || /\.(jpe?g|png|webp|heic|heif|gif)$/i.test(file.name || "");
}

function decodeWithImg(file) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.decoding = "async";
    img.onload = () => {
      resolve({
        source: img, width: img.naturalWidth, height: img.naturalHeight,
        close: () => URL.revokeObjectURL(url),
      });
    };
    img.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error("cannot decode"));
    };
    img.src = url;
  });
}

/** Decode a file upright (EXIF orientation applied); reject if the browser cannot. */
async function decode(file) {
  if ("createImageBitmap" in self) {
    try {
      const bmp = await createImageBitmap(file, { imageOrientation: "from-image" });
      return { source: bmp, width: bmp.width, height: bmp.height, close: () => bmp.close() };
    } catch (_) {
      // Older engines reject the option or the format: try an <img>.
    }
  }
  return decodeWithImg(file);
}

function toJpeg(canvas, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("toBlob failed"))),
      "image/jpeg", quality);
  });
}

async function downscale(file) {
  const img = await decode(file);
  try {
    if (!img.width || !img.height) throw new Error("empty image");
    const size = targetSize(img.width, img.height);
    const isJpeg = /^image\/jpe?g$/i.test(file.type) || /\.jpe?g$/i.test(file.name || "");
    if (isJpeg && size.width === img.width && size.height === img.height
        && file.size <= KEEP_JPEG_BYTES) {
      return { blob: file, ...size, mode: "original" };
    }
    const canvas = document.createElement("canvas");
    canvas.width = size.width;
    canvas.height = size.height;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.fillStyle = "#fff"; // transparent PNGs become white, not black
    ctx.fillRect(0, 0, size.width, size.height);
    ctx.drawImage(img.source, 0, 0, size.width, size.height);
    const blob = await toJpeg(canvas, QUALITY);
    canvas.width = 0; // free the memory now (iOS counts canvas memory)
    canvas.height = 0;
    return { blob, ...size, mode: "downscaled" };
  } finally {
    img.close();
  }
}

function safeName(name, fallback) {
  const cleaned = (name || "").replace(/[^\w.\-]+/g, "_").slice(-80);
  return cleaned || fallback;
}

/**
 * Prepare one picked file for the outbox.
 * Resolves {id, blob, mime, filename, taken_at, lat, lon, width, height, mode}
 * (mode: "downscaled" | "original" | "undecodable"); rejects with Error("not_image"|"too_big").
 */
export async function preparePhoto(file) {
  if (!looksLikeImage(file)) throw new Error("not_image");
  const id = uuid4();
  const exif = await readExifFromFile(file);
  const facts = { id, taken_at: exif.takenAt, lat: exif.lat, lon: exif.lon };
  try {
    const out = await downscale(file);
    const keep = out.mode === "original";
    return {
      ...facts, blob: out.blob, mime: keep ? (file.type || "image/jpeg") : "image/jpeg",
      filename: keep ? safeName(file.name, `${id}.jpg`) : `${id}.jpg`,
      width: out.width, height: out.height, mode: out.mode,
    };
  } catch (_) {
    if (file.size > MAX_ORIGINAL_BYTES) throw new Error("too_big");
    return {
      ...facts, blob: file, mime: file.type || "application/octet-stream",
      filename: safeName(file.name, `${id}.heic`), width: null, height: null, mode: "undecodable",
    };
  }
}
