"""Generate the benchmark's rule sets once and keep them under ``bench/out/rules``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from bench import rulegen
from bench.corpus import Doc
from bench.phases import PROBE_WORD
from monitor.annotate.phrases import PhraseIndex
from monitor.rules import load_rules

_INPUTS = ("bench/rulegen.py", "bench/rulesets.py", "monitor/annotate/tokens.py")


def _stamp(docs: list[Doc]) -> str:
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(str(len(docs)).encode())
    for name in _INPUTS:
        h.update((root / name).read_bytes())
    return h.hexdigest()[:16]


def build(docs: list[Doc], directory: Path) -> dict[str, Any]:
    """Paths of the ``every``, ``latency``, ``firehose`` and ``many`` rule sets, and what they concern."""
    stamp = _stamp(docs)
    names = ("every", "latency", "firehose", "many")
    paths = {n: directory / n for n in names}
    info_file = directory / "info.json"
    if info_file.is_file():
        info = json.loads(info_file.read_text())
        if info.get("stamp") == stamp:
            return {"paths": paths, "info": info}
    profile = rulegen.Profile.of(docs)
    actors, every = rulegen.every_rules(profile)
    rulegen.write(paths["every"], actors, every)
    # one word and no description: every probe is the rule's whole topic (a description's
    # words the probe lacks would hold it as a lone article, monitor/topic.py)
    probe = rulegen.rule("latency-probe", keywords=[PROBE_WORD], detect=("any",), cooldown="1s",
                         description="")
    rulegen.write(paths["latency"], actors, [*every, probe])
    fh_actors, firehose = rulegen.firehose_rules(profile)
    rulegen.write(paths["firehose"], fh_actors, firehose)
    hit = rulegen.concerned(PhraseIndex(load_rules([paths["firehose"]])), docs)
    many = rulegen.many_rules(profile, firehose, hit)
    rulegen.write(paths["many"], fh_actors, many)
    hit_many = rulegen.concerned(PhraseIndex(load_rules([paths["many"]])), docs)
    hit_every = rulegen.concerned(PhraseIndex(load_rules([paths["every"]])), docs)
    info = {
        "stamp": stamp,
        "every": {"rules": len(every), "concerned_fraction": round(len(hit_every) / len(docs), 4)},
        "firehose": {"rules": len(firehose), "concerned_fraction": round(len(hit) / len(docs), 4)},
        "many": {"rules": len(many), "keywords": sum(map(rulegen.keyword_count, many)),
                 "concerned_fraction": round(len(hit_many) / len(docs), 4), "same_articles": hit_many == hit},
    }
    info_file.write_text(json.dumps(info, indent=2))
    return {"paths": paths, "info": info}
