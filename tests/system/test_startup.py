"""What every command pays before it does anything: the modules its start-up loads.

A listing or a status never hashes, archives or suggests a config key, and
loading those modules (OpenSSL behind hashlib most of all) was 6 % of its
start-up; they load where they are used.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

from mailer.store import files

# Loaded only by the code that needs them.
NOT_AT_START = ("hashlib", "_hashlib", "secrets", "shutil", "difflib", "bz2", "lzma")


def test_start_up_leaves_out_modules_a_listing_does_not_use() -> None:
    # A fresh interpreter: this one has loaded everything the other tests needed.
    probe = (
        "import sys, mailer.cli, mailer.app, mailer.store;"
        f"print(' '.join(m for m in {NOT_AT_START!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == []


def test_the_store_hashes_with_hashlibs_own_blake2b() -> None:
    # The key files' checksums and names depend on these bytes.
    data = b"mailer key store"
    assert files.blake2b(data, digest_size=8).digest() == (
        hashlib.blake2b(data, digest_size=8).digest()
    )
