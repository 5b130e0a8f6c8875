"""Detector and feed state to JSON and back: the only place the frozen state objects meet JSON.

Detectors whose state is a frozen object (silence) are written as ``{"type": ..., ...}``;
the others still keep a plain dict, written as it is. State saved by earlier versions
(silence as ``{"quiet_after", "fired_at"}``) is read into the objects.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from monitor.detect.feed import FeedState
from monitor.detect.moments import Moments
from monitor.detect.silence import KIND as SILENCE
from monitor.detect.silence import SilenceState
from monitor.model import Alert


def _num(x: float | None) -> float | str | None:
    """JSON has no infinities: they are written as strings."""
    return repr(x) if x is not None and not math.isfinite(x) else x


def _float(x: Any, default: float = float("-inf")) -> float:
    return default if x is None else float(x)


def dumps(data: Any) -> str:
    """JSON text of state that is plain data (lists, dicts, str, numbers, None), fast.

    orjson writes a non-finite number as ``null``; the standard library writes it as JSON5's
    ``Infinity``, which ``json.loads`` reads back. So a text with a ``null`` in it is written
    again by the standard library, as is what orjson refuses (a key that is not a string, an
    integer beyond 64 bits): the same value comes back either way."""
    try:
        out = orjson.dumps(data)
    except orjson.JSONEncodeError:
        return json.dumps(data)
    return json.dumps(data) if b"null" in out else out.decode("utf-8")


def dumps_finite(data: Any) -> str:
    """``dumps`` for documents that hold no infinity or NaN by construction: an event
    (``Event.to_json``: times and saliences of real articles) and a rule's stories
    (``RuleStories.to_json`` writes an unset time as ``null``). Their ``null`` is ``None``,
    so orjson's text is the whole answer, without the standard library's second pass that
    every such document with a ``None`` in it took (5% of the detect worker's samples under
    py-spy; 1-3% of its matches per busy second in ``bench/detect_stage.py``, within noise)."""
    try:
        return orjson.dumps(data).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(data)


def encode_detectors(detectors: Mapping[str, Any]) -> str:
    out: dict[str, Any] = {}
    for kind, state in detectors.items():
        if isinstance(state, SilenceState):
            out[kind] = {"type": "silence/1", "told": _num(state.told), "period": _num(state.period),
                         "judged": _num(state.judged), "fired_at": state.fired_at}
        else:
            out[kind] = state
    return json.dumps(out)


def decode_detectors(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    slot = data.get(SILENCE)
    if isinstance(slot, dict):
        if slot.get("type") == "silence/1":
            data[SILENCE] = SilenceState(_float(slot["told"]), _float(slot["period"]),
                                         _float(slot["judged"]), slot["fired_at"])
        else:  # written before silence had its own state object
            fired = slot.get("fired_at")
            data[SILENCE] = SilenceState(told=_float(slot.get("quiet_after")),
                                         fired_at=None if fired is None else float(fired))
    return data


def encode_feed(state: FeedState) -> str:
    """The feed's status; its counts are rows of their own (``feed_rows``)."""
    return json.dumps({"first": state.first, "degraded_since": state.degraded_since,
                       "checked": state.checked})


def feed_rows(changed: Mapping[tuple[str, int], int]) -> list[tuple[str, int, int]]:
    return [(source, bucket, n) for (source, bucket), n in changed.items()]


def decode_feed(meta: str | None, rows: Iterable[tuple[str, int, int]]) -> FeedState | None:
    if meta is None:
        return None
    data = json.loads(meta)
    counts: dict[str, dict[int, int]] = {}
    for source, bucket, n in rows:
        counts.setdefault(source, {})[int(bucket)] = int(n)
    return FeedState(counts, data.get("first"), data.get("degraded_since"), data.get("checked"))


def encode_held(moments: Moments) -> list[tuple[str, str]]:
    return [(a.key, a.model_dump_json()) for a in moments.held]


def decode_held(rows: Iterable[tuple[str, str]]) -> Moments:
    return Moments(tuple(Alert.model_validate_json(payload) for _, payload in rows))
