"""The daemon keeps one batch's memory for the next instead of faulting it in again (monitor.heap).

Each case runs in a fresh interpreter: malloc settings are process-wide and one-way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Free one 1 MB block (glibc's dynamic thresholds follow it to ~1 MB mmap / 2 MB trim, as in a
# fresh daemon), then 20 "batches" of 16 MB in 256 KB blocks, every page written, all freed.
PROBE = """
import json, resource, sys
from monitor.heap import keep_batch_memory
done = keep_batch_memory() if sys.argv[1] == "tuned" else {}
block = bytes(1 << 20)
del block
def batch():
    blocks = [b"\\x01" * (256 * 1024) for _ in range(64)]
    del blocks
batch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    batch()
print(json.dumps({"faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, "set": done}))
"""


PAGES = 20 * 16 * 1024 * 1024 // 4096  # the pages the 20 batches write


def probe(mode: str, **env: str) -> tuple[int, dict[str, int]]:
    """(minor page faults over the 20 batches, the thresholds keep_batch_memory set)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    out = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True,
                         env={**clean, **env, "PYTHONPATH": str(ROOT)}, check=True).stdout
    result = json.loads(out)
    return int(result["faults"]), dict(result["set"])


def test_batch_after_batch_faults_pages_in_again_by_default_and_not_once_tuned() -> None:
    (plain, _), (tuned, done) = probe("plain"), probe("tuned")
    assert plain >= PAGES // 2  # each batch comes back from the kernel
    assert tuned < PAGES // 100  # each batch reuses the last one's memory
    assert done == {"malloc_mmap_threshold": 32 << 20, "malloc_trim_threshold": 128 << 20}


def test_the_operators_own_malloc_settings_win() -> None:
    faults, done = probe("tuned", MALLOC_TRIM_THRESHOLD_="1000")
    assert done == {"malloc_mmap_threshold": 32 << 20}
    assert faults >= PAGES // 2  # their tiny trim threshold holds
    _, done = probe("tuned", GLIBC_TUNABLES="glibc.malloc.mmap_threshold=4194304")
    assert done == {"malloc_trim_threshold": 128 << 20}
