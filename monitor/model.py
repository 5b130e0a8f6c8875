"""Typed, frozen data that crosses the pipeline's stages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from monitor.annotate.salience import NOWHERE, Where

AlertKind = Literal["threshold", "spike", "new_actor", "shift", "silence", "any", "resolved"]
Severity = Literal["info", "warning", "high", "critical"]

@dataclass(frozen=True, slots=True)
class Article:
    """One news article as the article contract of DESIGN.md defines it."""

    id: str
    title: str
    published_at: datetime  # timezone-aware, UTC
    body: str | None = None
    url: str | None = None
    source: str | None = None
    language: str | None = None
    story_id: str | None = None
    html: str | None = None  # the page; its main text stands in for a missing body
    extra: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def text(self) -> str:
        return f"{self.title}\n\n{self.body}" if self.body else self.title


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """An article's MinHash values for syndicated copies (``monitor.detect.copies.signature``),
    computed once where the article is annotated and carried to detection with its matches.
    ``values`` is None when the text is too short to judge (no copy either way)."""

    values: np.ndarray | None = field(compare=False)


@dataclass(frozen=True, slots=True)
class Annotated:
    """An article with what annotation found in it.

    ``actors`` maps actor ids to display names: ids from the rules' alias table for linked
    actors, and ``person:``/``org:``/``place:`` ids for named entities spaCy found that no
    alias covers (name variants already folded into one id).
    ``keywords`` holds the rule keywords (as written in the rules, lower case) present.
    ``terms`` are the salient lemmas and noun phrases, for framing shifts.
    ``where`` says in which sentences (headline, lead, body) each actor and keyword stands.
    All of it comes from the article's text without page furniture and credits.
    """

    article: Article
    actors: Mapping[str, str]
    keywords: frozenset[str]
    terms: tuple[str, ...] = ()
    nlp: bool = False  # True when the statistical model ran on it
    where: Where = NOWHERE
    fingerprint: Fingerprint | None = field(default=None, compare=False, repr=False)  # None: not computed yet


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that an annotated article satisfies."""

    rule_id: str
    item: Annotated
    relevance: float = 1.0  # how central the rule's actors and keywords are (0..1)
    why: str = ""  # why the article counts: "Syria in the headline; ceasefire: 4 mentions"
    cast: tuple[tuple[str, float, str], ...] = ()  # other actors: (id, salience, sentence naming it)
    central: bool = True  # most of the rule's requirements in its headline or lead
    lone: bool = False  # one term of the rule and nothing else of its topic (monitor.topic)
    headlined: bool = True  # in the headline or named throughout, not only as the lead's background


class ArticleRef(BaseModel):
    """What an alert shows of one supporting article."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    published_at: datetime
    source: str | None = None
    url: str | None = None
    why: str | None = None  # why the rule counts it: "in the headline", "4 mentions"


class TermChange(BaseModel):
    """A term or actor that rose or faded, with the articles that carry it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    term: str
    score: float
    articles: tuple[str, ...] = ()
    context: str | None = None  # the sentence that brings a new actor in


class Changes(BaseModel):
    """What moved in a story, for shift and new-actor alerts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rising: tuple[TermChange, ...] = ()
    fading: tuple[TermChange, ...] = ()
    new_actors: tuple[TermChange, ...] = ()
    divergence: float | None = None


class Alert(BaseModel):
    """A signal worth telling a desk about, explained, with a key stable across replays."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    rule: str
    kind: AlertKind
    at: datetime
    story: str
    severity: Severity
    summary: str
    reason: str
    description: str = ""
    channel: str | None = None
    actors: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    count: int | None = None
    threshold: int | None = None
    window_s: float | None = None
    articles: tuple[ArticleRef, ...] = ()
    changes: Changes | None = None
    kinds: tuple[AlertKind, ...] = ()  # every signal of the story-moment, ``kind`` first
    reasons: tuple[str, ...] = ()  # the reason of each, parallel to ``kinds``

    @model_validator(mode="before")
    @classmethod
    def _one_signal_by_default(cls, data: Any) -> Any:
        """An alert of one signal lists it alone (and payloads saved before ``kinds`` existed)."""
        if isinstance(data, dict):
            if not data.get("kinds") and "kind" in data:
                data = {**data, "kinds": (data["kind"],)}
            if not data.get("reasons") and "reason" in data:
                data = {**data, "reasons": (data["reason"],)}
        return data

    def public(self) -> dict[str, object]:
        """The backtest JSON object of DESIGN.md (plus the explanation fields)."""
        return {
            "rule": self.rule,
            "kind": self.kind,
            "kinds": list(self.kinds),
            "at": self.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "story": self.story,
            "articles": [a.id for a in self.articles],
            "summary": self.summary,
            "reason": self.reason,
            "reasons": list(self.reasons),
            "severity": self.severity,
        }
