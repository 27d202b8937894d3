"""Files that a kill -9 never leaves half written: the store and the files beside it.

A temp file in the same directory, fsync, rename over the target, fsync of
the directory: a reader sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from mailer.errors import StoreError, StoreFormatError, one_line

try:
    import orjson
except ImportError:  # a system Python without it: the standard library does the same
    orjson = None  # type: ignore[assignment]

try:  # hashlib's own blake2b, without the OpenSSL that importing hashlib loads (3 % of
    # every command's start-up, and a listing never hashes)
    from _blake2 import blake2b as blake2b
except ImportError:  # another Python: the documented name
    from hashlib import blake2b as blake2b

FILE_MODE = 0o600
DIR_MODE = 0o700


def text_hash(text: str) -> int:
    """A 64-bit number of `text` (a message key, an email), the same in every process."""
    return int.from_bytes(blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest())


def tmp_prefix(path: Path) -> str:
    return f".{path.name}.tmp-"


def fsync_dir(directory: Path) -> None:
    # Makes a rename itself durable. Some file systems refuse fsync on a
    # directory; the data is already safe in the file then, so go on.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: Path, payload: bytes | bytearray) -> None:
    """Replace `path` atomically (mode 0600); StoreError saying what to do on failure."""
    tmp = path.parent / f"{tmp_prefix(path)}{os.getpid()}-{os.urandom(4).hex()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)  # exact, whatever the umask
            with os.fdopen(fd, "wb") as f:
                fd = -1  # the file object owns it now
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
        finally:
            if fd >= 0:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise StoreError(
                f"cannot write store {path}: {one_line(e.strerror or e)}",
                hint="check free disk space and that its directory is writable",
            ) from e
        raise
    fsync_dir(path.parent)


def append_at(path: Path, committed: int, data: bytes) -> int:
    """Append `data` to the log file `path` after its first `committed` bytes, durably;
    the new committed length. Bytes beyond `committed` were appended by a transaction
    killed before it wrote the store file: cut off first. StoreError on failure."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            os.ftruncate(fd, committed)
            os.lseek(fd, committed, os.SEEK_SET)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        raise StoreError(
            f"cannot write store {path}: {one_line(e.strerror or e)}",
            hint="check free disk space and that its directory is writable",
        ) from e
    if committed == 0:
        fsync_dir(path.parent)  # the log file may be new
    return committed + len(data)


def read_log(
    path: Path, start: int, end: int, damaged: Callable[[Path, str], StoreFormatError]
) -> bytes:
    """Bytes `start` to `end` of the file `path` beside the store (of a log: `end` is the
    length the store file names); `damaged(path, why)` is raised when it is missing,
    unreadable or shorter."""
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start)
    except FileNotFoundError:
        raise damaged(path, "it is missing") from None
    except OSError as e:
        raise damaged(path, one_line(e.strerror or e)) from None
    if len(data) != end - start:
        raise damaged(path, f"it is shorter than the {end} bytes the store names")
    return data


def remove_beside(store_path: Path, stem: str, keep: Collection[str]) -> None:
    """Remove the files beside the store whose names start with `stem` (and their temp
    files), except those named in `keep`: replaced ones and leftovers of killed writers."""
    with contextlib.suppress(OSError):
        for name in os.listdir(store_path.parent):
            if name not in keep and (name.startswith(stem) or name.startswith(f".{stem}")):
                with contextlib.suppress(OSError):
                    os.unlink(store_path.parent / name)


def json_bytes(data: Any) -> bytes:
    """`data` as compact UTF-8 JSON (what the store and the files beside it hold)."""
    if orjson is not None:
        # The same bytes as json.dumps below, 10-15 times faster: a commit of a few
        # messages rewrites the whole store file.
        with contextlib.suppress(TypeError, ValueError):  # lone surrogates, huge ints
            payload: bytes = orjson.dumps(data)
            return payload
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (from undecodable headers) are not UTF-8; JSON escapes
        # keep them, and the file stays valid UTF-8.
        return json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode(
            "ascii"
        )


def json_value(raw: bytes) -> Any:
    """What `json_bytes` wrote; ValueError or RecursionError if it is not JSON."""
    if orjson is not None:
        with contextlib.suppress(ValueError):  # orjson refuses escaped lone surrogates
            return orjson.loads(raw)
    return json.loads(raw)
