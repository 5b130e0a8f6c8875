"""A C CRC-32C for kafka-python, kept out of the project's environment.

kafka-python checks record CRCs (CRC-32C) in pure Python unless the ``crc32c`` package is
importable: about 0.5 ms of CPU per 3 KB article, on the producer and on the consumer. The
benchmark's producer is a load generator, not the system under test, so it gets the C
version from ``~/.cache/story-monitor/pylib`` (installed there with pip on first use); the
daemon gets it only with ``--daemon-crc32c``. Call ``enable()`` before importing kafka.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from bench.corpus import CACHE

PYLIB = CACHE / "pylib"
VERSION = "2.9.post0"


def enable() -> bool:
    """Put a C crc32c on ``sys.path``; False when it cannot be had (pure Python then)."""
    if importlib.util.find_spec("crc32c") is not None:
        return True
    if not (PYLIB / "crc32c").is_dir():
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--retries", "1",
             "--timeout", "20", "--target", str(PYLIB), f"crc32c=={VERSION}"],
            capture_output=True, check=False)
        if done.returncode != 0:
            return False
    sys.path.insert(0, str(PYLIB))
    return importlib.util.find_spec("crc32c") is not None
