"""The object store for part files and manifests: S3 (any endpoint) or a local directory, as Luigi targets."""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cached_property
from typing import IO, TYPE_CHECKING

import luigi
import luigi.format

from pipeline.config import StorageLocation, storage_location

if TYPE_CHECKING:
    from luigi.contrib.s3 import S3Client

_THROTTLING = {"Throttling", "ThrottlingException", "SlowDown", "RequestTimeout", "RequestLimitExceeded",
               "InternalError", "ServiceUnavailable", "503"}


def is_transient(error: BaseException) -> bool:
    """Connection failures and S3's throttling or temporary refusals."""
    from botocore.exceptions import ClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(error, BotoConnectionError):
        return True
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in _THROTTLING


class StorageError(RuntimeError):
    """The object store cannot be used; the message names the setting, the bucket and the endpoint."""


class ObjectStore:
    """Reads and writes objects by path relative to the configured location; writes are atomic."""

    def __init__(self, location: StorageLocation):
        self.location = location

    @classmethod
    def from_config(cls) -> ObjectStore:
        return cls(storage_location())

    @cached_property
    def s3(self) -> S3Client:
        # Luigi's client reads [s3] from luigi.cfg; boto3 adds AWS_ENDPOINT_URL_S3 and the key variables.
        # Imported here: boto3 costs every command ~70 ms of start-up, and a local lake never needs it.
        from luigi.contrib.s3 import S3Client

        return S3Client()

    def url(self, relative: str) -> str:
        return self.location.url(relative)

    def check(self) -> None:
        """Fail with one line when the bucket is missing, refused or its endpoint unreachable (every task's
        completeness check would otherwise fail with a traceback of its own)."""
        if self.location.scheme != "s3":
            return
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.s3.s3.meta.client
        where = f"bucket {self.location.bucket!r} at {client.meta.endpoint_url}"
        try:
            client.head_bucket(Bucket=self.location.bucket)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            reason = "does not exist" if code in ("404", "NoSuchBucket") else f"refused ({code or error})"
            raise StorageError(f"PIPELINE_STORAGE_URL: {where} {reason}") from None
        except BotoCoreError as error:
            raise StorageError(f"PIPELINE_STORAGE_URL: cannot reach {where}: {error}") from None

    def target(self, relative: str) -> luigi.target.FileSystemTarget:
        url = self.url(relative)
        if self.location.scheme == "s3":
            from luigi.contrib.s3 import S3Target

            return S3Target(url, format=luigi.format.Nop, client=self.s3)
        return luigi.LocalTarget(url, format=luigi.format.Nop)

    def exists(self, relative: str) -> bool:
        return self.target(relative).exists()

    @contextmanager
    def open_write(self, relative: str) -> Iterator[IO[bytes]]:
        """A binary file that appears at `relative` only when its block ends without error. On an error its
        temporary file (Luigi's, in the temp directory or beside the target) is removed, not left behind."""
        if self.location.scheme == "file":
            os.makedirs(os.path.dirname(self.url(relative)), exist_ok=True)
        handle = self.target(relative).open("w")
        try:
            yield handle
        except BaseException:
            io.BufferedWriter.close(handle)  # closes the temporary file without publishing it
            with suppress(FileNotFoundError):
                os.remove(handle.tmp_path)
            raise
        handle.close()  # publishes: moves the file into place, or uploads it

    def open_read(self, relative: str) -> IO[bytes]:
        return self.target(relative).open("r")

    def write_bytes(self, relative: str, data: bytes) -> None:
        with self.open_write(relative) as out:
            out.write(data)

    def read_bytes(self, relative: str) -> bytes:
        with self.open_read(relative) as stream:
            return stream.read()

    def link(self, relative: str, expires_seconds: int) -> str:
        """A URL to download the object: presigned (time-limited) on S3, a file URL on a local store."""
        if self.location.scheme == "s3":
            import boto3
            from botocore.config import Config

            # SigV4 links: SigV2 ones are refused by newer regions and cannot say how long they last.
            client = boto3.client("s3", config=Config(signature_version="s3v4"))
            key = self.url(relative).split("/", 3)[3]
            return client.generate_presigned_url(
                "get_object", Params={"Bucket": self.location.bucket, "Key": key}, ExpiresIn=expires_seconds)
        return "file://" + self.url(relative)

    def size(self, relative: str) -> int:
        if self.location.scheme == "s3":
            return self.s3.get_key(self.url(relative)).size
        return os.path.getsize(self.url(relative))

    def folders(self, relative: str) -> list[str]:
        """The names of the folders (S3: common prefixes) directly under `relative`."""
        if self.location.scheme == "s3":
            prefix = self.url(relative).split("/", 3)[3].rstrip("/") + "/"
            pages = self.s3.s3.meta.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=prefix, Delimiter="/")
            return sorted(common["Prefix"][len(prefix):].rstrip("/")
                          for page in pages for common in page.get("CommonPrefixes", []))
        path = self.url(relative)
        return sorted(name for name in os.listdir(path) if os.path.isdir(os.path.join(path, name))) \
            if os.path.isdir(path) else []

    def remove_folder(self, relative: str) -> None:
        """Remove a folder and everything under it."""
        if self.location.scheme == "s3":
            self.s3.remove(self.url(relative).rstrip("/") + "/", recursive=True)
        else:
            shutil.rmtree(self.url(relative), ignore_errors=True)
