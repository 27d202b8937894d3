"""One daemon per store: a lock file held while `mailer run` runs.

Apart from the loop (mailer.daemon): `mailer run` takes it before it builds
the daemon, and the loop itself never needs it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from mailer.errors import MailerError, StoreError


@contextlib.contextmanager
def single_instance(store_path: Path) -> Iterator[None]:
    """Hold `<store>.daemon.lock` (flock) while the daemon runs; refuse a second one.

    The lock file is never removed: removing it would let a third daemon lock a
    new file while the second still holds the old one.
    """
    lock_path = Path(f"{store_path}.daemon.lock")
    with contextlib.suppress(OSError):
        lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise StoreError(f"cannot open the daemon lock {lock_path}: {e.strerror or e}") from e
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise StoreError(f"cannot lock {lock_path}: {e.strerror or e}") from e
            pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise MailerError(
                f"another mailer daemon is running on {store_path} (pid {pid})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
