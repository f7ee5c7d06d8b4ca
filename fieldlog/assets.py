"""Fingerprinted static files: a content hash in every static URL the app emits.

`url_for('static', filename='js/app.js')` gives `/static/js/app.3f2a9c1b0d.js`, served with
`Cache-Control: public, max-age=31536000, immutable`; the plain name keeps a short cache.

ES modules import each other by relative path (`import … from "./db.js"`). No build step and
no import map (an inline script the CSP would have to allow, and unknown to older phone
browsers): the fingerprinted copy of a module is the module with its relative imports
rewritten to their fingerprinted names, and its hash is taken over that rewritten text. So a
change in `db.js` changes the URL of `db.js` and of every module that imports it, up to the
page's entry point, and a fingerprinted URL always names the whole graph below it.

The hash comes from the files' contents only, so every process of a deployment agrees.
"""
import gzip
import hashlib
import json
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from flask import Flask, Response, current_app, request, send_from_directory

HASH_LENGTH = 10
YEAR = 31536000
IMMUTABLE = f"public, max-age={YEAR}, immutable"
SHORT = 600  # seconds: unfingerprinted names (the manifest's icons, CSS url()s, old pages)
# `from "./x.js"`, `import "./x.js"`, `import("./x.js")`: relative module specifiers.
_IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.\.?/[^"'\s]+\.js)\2""")
_FINGERPRINTED = re.compile(
    rf"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})(?P<ext>\.[^./]+)$")
# Served at their own stable URLs (pwa blueprint), never fingerprinted.
_NOT_FINGERPRINTED = {"sw.js", "manifest.webmanifest"}


@dataclass
class Assets:
    """The fingerprinted names of one static folder, computed once from its contents."""

    folder: Path
    names: dict[str, str] = field(default_factory=dict)  # "js/app.js" -> "js/app.<hash>.js"
    files: dict[str, str] = field(default_factory=dict)  # fingerprinted -> plain name
    bodies: dict[str, bytes] = field(default_factory=dict)  # rewritten modules, by plain name
    signature: tuple = ()
    packed: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (name, coding) → body

    @classmethod
    def scan(cls, folder: str | Path) -> "Assets":
        assets = cls(Path(folder))
        paths = sorted(p for p in assets.folder.rglob("*") if p.is_file())
        assets.signature = _signature(paths)
        modules = {}
        for path in paths:
            name = path.relative_to(assets.folder).as_posix()
            if name in _NOT_FINGERPRINTED or path.name.startswith("."):
                continue
            if path.suffix == ".js":
                modules[name] = path.read_text(encoding="utf-8")
            else:
                assets._add(name, path.read_bytes())
        for name in modules:
            assets._add_module(name, modules, ())
        return assets

    def _add(self, name: str, body: bytes) -> None:
        digest = hashlib.sha256(body).hexdigest()[:HASH_LENGTH]
        stem, dot, ext = name.rpartition(".")
        fingerprinted = f"{stem}.{digest}.{ext}" if dot and "/" not in ext else f"{name}.{digest}"
        self.names[name] = fingerprinted
        self.files[fingerprinted] = name

    def _add_module(self, name: str, modules: dict[str, str], path: tuple[str, ...]) -> None:
        """Fingerprint a module after the modules it imports (depth first)."""
        if name in self.names:
            return
        if name in path:
            raise ValueError(f"static modules import each other in a circle: {path + (name,)}")
        base = name.rpartition("/")[0]

        def rewrite(match: re.Match) -> str:
            target = _join(base, match.group(3))
            if target not in modules:
                return match.group(0)
            self._add_module(target, modules, path + (name,))
            folder = match.group(3).rpartition("/")[0]
            relative = f"{folder}/{self.names[target].rpartition('/')[2]}"
            return f"{match.group(1)}{match.group(2)}{relative}{match.group(2)}"

        body = _IMPORT.sub(rewrite, modules[name]).encode("utf-8")
        self._add(name, body)
        self.bodies[name] = body

    def body(self, name: str) -> bytes:
        return self.bodies[name] if name in self.bodies else (self.folder / name).read_bytes()

    def encoded(self, name: str, coding: str) -> bytes:
        """Return the file compressed once for all, at the strongest setting (files are small)."""
        key = (name, coding)
        if key not in self.packed:
            body = self.body(name)
            self.packed[key] = (brotli.compress(body, quality=11) if coding == "br"
                                else gzip.compress(body, compresslevel=9, mtime=0))
        return self.packed[key]

    def url_map(self, prefix: str) -> dict[str, str]:
        """Return {"/static/js/app.js": "/static/js/app.<hash>.js", …} for the service worker."""
        return {f"{prefix}/{name}": f"{prefix}/{fp}" for name, fp in sorted(self.names.items())}

    def version(self) -> str:
        """Return one hash of every fingerprint: it changes when any static file changes."""
        text = json.dumps(sorted(self.names.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def _join(base: str, relative: str) -> str:
    parts = base.split("/") if base else []
    for piece in relative.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in (".", ""):
            parts.append(piece)
    return "/".join(parts)


def _signature(paths: list[Path]) -> tuple:
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)


def current_assets(app: Flask | None = None) -> Assets:
    """Return the app's fingerprints; in debug mode they follow edits to the files."""
    app = app or current_app
    assets = app.extensions.get("fieldlog_assets")
    if assets is None or (app.debug and _signature(
            sorted(p for p in assets.folder.rglob("*") if p.is_file())) != assets.signature):
        assets = Assets.scan(app.static_folder)
        app.extensions["fieldlog_assets"] = assets
    return assets


def service_worker_source() -> str:
    """Return static/sw.js with the fingerprinted names it precaches filled in."""
    assets = current_assets()
    source = (assets.folder / "sw.js").read_text(encoding="utf-8")
    prefix = current_app.static_url_path
    filled = source.replace("const ASSETS = {};", "const ASSETS = "
                            + json.dumps(assets.url_map(prefix), indent=0) + ";", 1)
    filled = filled.replace('const ASSETS_VERSION = "";',
                            f'const ASSETS_VERSION = "{assets.version()}";', 1)
    if filled.count(assets.version()) == 0 or "const ASSETS = {};" in filled:
        raise RuntimeError("static/sw.js lost its ASSETS or ASSETS_VERSION line")
    return filled


def serve_static(filename: str) -> Response:
    """Serve a static file: fingerprinted names for a year, plain names for a short while."""
    assets = current_assets()
    plain, cache = assets.files.get(filename), IMMUTABLE
    if plain is None:
        match = _FINGERPRINTED.match(filename)
        plain = f"{match['stem']}{match['ext']}" if match else None
        # A page from an older release asks for a file that has changed since: answer
        # today's file, but not as immutable (a rolling deploy may ask the wrong process).
        plain, cache = (plain, "no-cache") if plain in assets.names else (None, None)
    mimetype = ("text/javascript" if plain in assets.bodies
                else mimetypes.guess_type(plain or "")[0])
    if plain and mimetype in current_app.config.get("COMPRESS_MIMETYPES", ()):
        # Text (modules with their imports fingerprinted, CSS, SVG): compressed once per process.
        coding = next((c for c in ("br", "gzip") if request.accept_encodings[c]), None)
        body = assets.encoded(plain, coding) if coding else assets.body(plain)
        response = current_app.response_class(body, mimetype=mimetype)
        if coding:
            response.headers["Content-Encoding"] = coding
        response.vary.add("Accept-Encoding")
        response.set_etag(hashlib.sha256(body).hexdigest()[:16])
        response.make_conditional(request)
    else:
        max_age = {IMMUTABLE: YEAR, "no-cache": 0}.get(cache, SHORT)
        response = send_from_directory(current_app.static_folder, plain or filename,
                                       max_age=max_age)
    response.headers["Cache-Control"] = cache or f"public, max-age={SHORT}"
    return response


def register_assets(app: Flask) -> None:
    """Emit fingerprinted static URLs and serve them."""

    @app.url_defaults
    def fingerprint(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = current_assets(app).names.get(values["filename"],
                                                               values["filename"])

    app.view_functions["static"] = serve_static
