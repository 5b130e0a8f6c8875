"""Keep the memory of one spaCy batch for the next, instead of faulting it in again.

spaCy allocates and frees tens of MB of arrays per batch. With glibc's default (dynamic)
thresholds a process whose largest freed block so far is small keeps almost nothing:
after each batch malloc hands the top of the heap back to the kernel, and the next batch
faults every page of it in again, zeroed. The daemon measured about 50,000 minor page
faults a second and 8% of its CPU in the kernel that way, and spaCy ran 8% slower in it
than in a process that had once freed a large block (docs/profile.md). Fixed thresholds
end that: blocks under ``MMAP_THRESHOLD`` come from the heap, and up to ``TRIM_THRESHOLD``
of free heap top is kept for the next batch.

The operator's own ``MALLOC_TRIM_THRESHOLD_`` / ``MALLOC_MMAP_THRESHOLD_`` (or the
``GLIBC_TUNABLES`` equivalents) win: glibc applied them at start and they are left alone.
Elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform

log = logging.getLogger("monitor.heap")

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 128 * 1024 * 1024
MMAP_THRESHOLD = 32 * 1024 * 1024  # the largest glibc accepts on 64-bit, and its dynamic ceiling

_PARAMS = (  # parameter, value, environment variable, tunable
    (M_MMAP_THRESHOLD, MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_", "glibc.malloc.mmap_threshold"),
    (M_TRIM_THRESHOLD, TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_", "glibc.malloc.trim_threshold"),
)


def keep_batch_memory() -> dict[str, int]:
    """Set glibc's trim and mmap thresholds unless the environment set them; what was set."""
    if platform.libc_ver()[0] != "glibc":
        return {}
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return {}
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    done: dict[str, int] = {}
    for param, value, env, tunable in _PARAMS:
        if env in os.environ or tunable in tunables:
            continue
        if mallopt(param, value) == 1:
            done[env.strip("_").lower()] = value
    if done:
        log.debug("malloc_thresholds", extra=done)
    return done
