"""Where photo bytes live: an interface, a local-folder store, the key layout, the choice."""
from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO, NamedTuple, Protocol, runtime_checkable

# Keys are made by the server, never from client input: lowercase path segments that
# cannot be empty, start with a dot ("..", hidden or temp files) or start with "/".
_KEY = re.compile(r"[a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)*")
_MAX_KEY_LENGTH = 512


class StoreUnavailable(OSError):
    """The store could not be reached or refused the request; the caller may retry later."""


class StoredObject(NamedTuple):
    """An open stored object: a binary stream the caller must close, and its size in bytes."""

    stream: BinaryIO
    size: int


@runtime_checkable
class PhotoStore(Protocol):
    """What the app needs from a photo store: a local folder or S3 (`storage_s3.S3Store`)."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, replacing any previous object atomically."""

    def get(self, key: str) -> bytes:
        """Return the bytes under `key`; raise KeyError if there are none."""

    def open(self, key: str) -> StoredObject:
        """Open the object under `key` for streaming; raise KeyError if there is none."""

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under `key`."""

    def delete(self, key: str) -> None:
        """Remove the object under `key`; a missing object is not an error (as in S3)."""


def validate_key(key: str) -> str:
    """Return `key` if it is a well-formed store key; raise ValueError otherwise."""
    if not isinstance(key, str) or len(key) > _MAX_KEY_LENGTH or not _KEY.fullmatch(key):
        raise ValueError(f"invalid photo store key: {key!r}")
    return key


def photo_keys(photo_id: str) -> dict[str, str]:
    """Return the store keys of a photo's original, display and thumb sizes."""
    hex_id = uuid.UUID(str(photo_id)).hex  # raises ValueError for anything but a UUID
    # Shard on the first two hex digits so no folder holds millions of entries.
    prefix = f"{hex_id[:2]}/{hex_id}"
    return {"original": f"{prefix}/original", "display": f"{prefix}/display.jpg",
            "thumb": f"{prefix}/thumb.jpg"}


class LocalFolderStore:
    """A PhotoStore in a folder on local disk (the default, and the one tests use)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = self.root / validate_key(key)
        # The key pattern already forbids escaping; check again so a future change cannot.
        if os.path.commonpath([self.root, path]) != str(self.root):
            raise ValueError(f"invalid photo store key: {key!r}")
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write `data` to a temp file beside the target, then rename it into place."""
        # content_type is kept in the database; a folder has nowhere to put it.
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())  # the bytes are on disk before the name points at them
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        """Return the stored bytes; raise KeyError if the key holds nothing."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def open(self, key: str) -> StoredObject:
        """Open the stored file for streaming; raise KeyError if the key holds nothing."""
        try:
            stream = self._path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None
        return StoredObject(stream, os.fstat(stream.fileno()).st_size)

    def exists(self, key: str) -> bool:
        """Tell whether a file is stored under `key`."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file under `key` if there is one."""
        try:
            self._path(key).unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            pass


# The settings that choose and reach the store (fieldlog.config.Config reads them).
STORE_SETTINGS = ("PHOTO_STORE", "PHOTO_DIR", "S3_ENDPOINT_URL", "S3_ACCESS_KEY_ID",
                  "S3_SECRET_ACCESS_KEY", "S3_REGION")


def store_from_config(config: Mapping) -> PhotoStore:
    """Return the store PHOTO_STORE names: `s3://bucket[/prefix]`, a folder, or else PHOTO_DIR."""
    spec = (config.get("PHOTO_STORE") or "").strip()
    if spec.startswith("s3://"):
        bucket, _, prefix = spec.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError("PHOTO_STORE=s3://… needs a bucket name, e.g. s3://fieldlog-photos")
        from fieldlog.storage_s3 import S3Store  # boto3 is loaded only when S3 is used

        return S3Store(bucket, prefix, endpoint_url=config.get("S3_ENDPOINT_URL"),
                       access_key_id=config.get("S3_ACCESS_KEY_ID"),
                       secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
                       region=config.get("S3_REGION"))
    if spec.startswith("file://"):
        spec = spec.removeprefix("file://")
    elif "://" in spec:
        raise ValueError(f"PHOTO_STORE must be s3://bucket or a folder, not {spec!r}")
    return LocalFolderStore(spec or config["PHOTO_DIR"])
