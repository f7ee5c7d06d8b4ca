"""A PhotoStore on an S3-compatible object store (AWS S3, MinIO, SeaweedFS, OSS, COS…) via boto3.

The bucket stays private: the app reads objects with its own credentials and streams them to
users after its scope check (docs/security.md); it never hands out object URLs.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from fieldlog.storage import StoredObject, StoreUnavailable, validate_key

# Codes an S3 server answers for "no such object" (HEAD has no body, so only its status).
_MISSING = {"NoSuchKey", "404", "NotFound"}


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in _MISSING


@contextmanager
def _unavailable_on_error(key: str) -> Iterator[None]:
    """Turn S3 failures other than "no such key" into StoreUnavailable (an OSError)."""
    try:
        yield
    except ClientError as exc:
        if _missing(exc):
            raise KeyError(key) from None
        raise StoreUnavailable(f"photo store refused {key}: {exc}") from exc
    except BotoCoreError as exc:  # unreachable endpoint, timeout, bad credentials config…
        raise StoreUnavailable(f"photo store unreachable for {key}: {exc}") from exc


class _Body(io.RawIOBase):
    """A read-only file over a botocore StreamingBody, so it can be wrapped and closed."""

    def __init__(self, body) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._body.read(len(buffer))
        buffer[:len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3Store:
    """A PhotoStore in one bucket, optionally under a key prefix (`s3://bucket/prefix`)."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 region: str | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        # With no explicit keys boto3 finds AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile
        # or an instance role. A custom endpoint (MinIO, SeaweedFS, an on-premises cloud) wants
        # path-style addresses; AWS itself takes virtual-hosted ones.
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(s3={"addressing_style": "path" if endpoint_url else "virtual"},
                          connect_timeout=5, read_timeout=60,
                          retries={"mode": "standard", "max_attempts": 3}))

    def _key(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data`; S3 answers only once the object is durably stored, and atomically."""
        with _unavailable_on_error(key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                                   ContentType=content_type)

    def get(self, key: str) -> bytes:
        """Return the stored bytes; raise KeyError if the key holds nothing."""
        with self.open(key).stream as stream:
            return stream.read()

    def open(self, key: str) -> StoredObject:
        """Return a stream of the object and its size; raise KeyError if it is missing."""
        with _unavailable_on_error(key):
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        stream: BinaryIO = io.BufferedReader(_Body(answer["Body"]), buffer_size=256 * 1024)
        return StoredObject(stream, int(answer["ContentLength"]))

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under `key`."""
        try:
            with _unavailable_on_error(key):
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except KeyError:
            return False
        return True

    def delete(self, key: str) -> None:
        """Remove the object under `key`; a missing object is not an error."""
        with _unavailable_on_error(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
