"""Why an article matches a rule, or not: the evidence behind each of the rule's conditions.

Pure: an article, the rule set and an Annotator (the same stage the daemon runs, with or
without the statistical model) in, frozen explanations out; the CLI only prints them.
What decides ``matched`` is the daemon's own annotation and ``matches_spec``; the rest
(where each alias and keyword form sits, which entities spaCy found) is read again from
the text to show it. Each kind of evidence is one section, so a new one (relevance) is one
more field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from monitor.annotate.annotator import ENTITY_LABELS, Annotator
from monitor.annotate.names import clean_name, entity_key
from monitor.annotate.tokens import Token, tokenize
from monitor.match import matches_spec
from monitor.model import Annotated, Article
from monitor.relevance import level_of, relevance
from monitor.rules.schema import MatchSpec, Rule, RuleSet


@dataclass(frozen=True, slots=True)
class Place:
    """Where in the article a piece of evidence sits."""

    section: str  # headline | lead | body
    sentence: str


@dataclass(frozen=True, slots=True)
class ActorEvidence:
    """How one actor was found: an alias variant, or a named entity spaCy found."""

    actor: str
    linked: bool  # the daemon counts the actor in this article
    via: str  # alias | entity
    variant: str  # the text as written
    place: Place
    note: str = ""  # e.g. "weak alias, not confirmed by a named entity"


@dataclass(frozen=True, slots=True)
class KeywordEvidence:
    """One occurrence of a rule phrase (keyword, all_keywords or exclude)."""

    keyword: str
    form: str
    place: Place


@dataclass(frozen=True, slots=True)
class Condition:
    """One requirement of the rule's ``match`` and whether the article meets it."""

    name: str  # actors | any_actors | keywords | all_keywords | exclude
    ok: bool
    wanted: tuple[str, ...]
    found: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RelevanceEvidence:
    """How central the rule's actors and keywords are to the article, and the level it needs."""

    score: float
    level: float
    ok: bool
    why: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """Whether one article matches one rule, and the evidence for each condition."""

    rule: str
    enabled: bool
    matched: bool
    conditions: tuple[Condition, ...]
    actors: tuple[ActorEvidence, ...]
    keywords: tuple[KeywordEvidence, ...]
    exclusions: tuple[KeywordEvidence, ...]
    failed: tuple[str, ...]  # the conditions that failed, in words
    others: tuple[ActorEvidence, ...] = ()  # actors found that the rule does not ask for
    relevance: RelevanceEvidence | None = None  # how central the rule is to it, against its level

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the article holds, rule by rule independent: actors found, phrase occurrences."""

    item: Annotated
    actors: tuple[ActorEvidence, ...]
    phrases: tuple[KeywordEvidence, ...]
    modelled: bool


def every_rule(ruleset: RuleSet) -> RuleSet:
    """The set with its disabled rules enabled: what an Annotator must look for to explain them
    too (a disabled rule is explained as it would match once enabled)."""
    return replace(ruleset, rules=tuple(replace(r, enabled=True) for r in ruleset.rules))


def explain(article: Article, ruleset: RuleSet, annotator: Annotator) -> list[Explanation]:
    """One explanation per rule of the set, disabled ones included, in the set's order."""
    evidence = gather(article, ruleset, annotator)
    return [explain_rule(rule, evidence) for rule in ruleset.rules]


def gather(article: Article, ruleset: RuleSet, annotator: Annotator) -> Evidence:
    item = annotator.annotate([article])[0]
    text = article.text[: annotator.max_chars]
    sections = _Sections(article, text)
    hits = annotator.index.scan(text)
    entities = _entities(annotator, text) if item.nlp else []
    actors = []
    aliases = [h for h in hits.aliases if not any(
        o is not h and o.actor == h.actor and o.start <= h.start and h.end <= o.end for o in hits.aliases)]
    for hit in aliases:  # "Port of Brennport", not its "Brennport" again
        covered = any(s <= hit.start and hit.end <= e for _, s, e, _ in entities)
        note = "" if hit.actor in item.actors else (
            "weak alias (sentence start, surname or all caps) not confirmed by a named entity"
            if hit.weak and not covered else "not linked")
        actors.append(ActorEvidence(hit.actor, hit.actor in item.actors, "alias", text[hit.start:hit.end],
                                    sections.place(hit.start), note))
    for label, start, end, surface in entities:
        key = entity_key(label, clean_name(surface)) if clean_name(surface) else ""
        alias = next((h.actor for h in hits.aliases if h.start < end and start < h.end), None)
        actor = alias or next((k for k, v in item.actors.items() if v == clean_name(surface)), key)
        note = f"spaCy {label}" + (", confirms the alias" if alias else "")
        place = sections.place(start)
        actors.append(ActorEvidence(actor, actor in item.actors, "entity", surface, place, note))
    phrases = _phrases(text, ruleset, sections)
    return Evidence(item, tuple(actors), phrases, item.nlp)


def explain_rule(rule: Rule, evidence: Evidence) -> Explanation:
    spec, item = rule.match, evidence.item
    present_kw, present_actors = item.keywords, set(item.actors)
    conditions = []
    for name, wanted, pool, every in (
        ("actors", spec.actors, present_actors, True),
        ("any_actors", spec.any_actors, present_actors, False),
        ("keywords", spec.keywords, present_kw, False),
        ("all_keywords", spec.all_keywords, present_kw, True),
    ):
        if not wanted:
            continue
        found = tuple(w for w in wanted if w in pool)
        missing = tuple(w for w in wanted if w not in pool)
        conditions.append(Condition(name, not missing if every else bool(found), wanted, found, missing))
    fired = tuple(k for k in spec.exclude if k in present_kw)
    if spec.exclude:
        conditions.append(Condition("exclude", not fired, spec.exclude, fired, ()))
    mine = set(spec.actors) | set(spec.any_actors)
    phrases = set(spec.keywords) | set(spec.all_keywords)
    meets = matches_spec(item, spec)
    central = _relevance(item, spec) if meets else None
    failed = tuple(_failure(c) for c in conditions if not c.ok)
    if central is not None and not central.ok:
        failed += (f"relevance: {central.score:.2f} below the rule's level {central.level:.2f}"
                   + (f" ({central.why})" if central.why else ""),)
    return Explanation(
        rule=rule.id, enabled=rule.enabled, matched=meets and (central is None or central.ok),
        conditions=tuple(conditions),
        actors=tuple(a for a in evidence.actors if a.actor in mine),
        keywords=tuple(k for k in evidence.phrases if k.keyword in phrases),
        exclusions=tuple(k for k in evidence.phrases if k.keyword in fired),
        failed=failed,
        others=tuple(a for a in evidence.actors if a.actor not in mine and a.linked),
        relevance=central,
    )


def _relevance(item: Annotated, spec: MatchSpec) -> RelevanceEvidence:
    """The same score and level the matcher counts an article by (monitor/relevance.py)."""
    rel = relevance(item, spec)
    level = level_of(spec)
    return RelevanceEvidence(rel.score, level, rel.score >= level, rel.why)


def _failure(c: Condition) -> str:
    if c.name == "actors":
        return f"actors: not in the article: {', '.join(c.missing)}"
    if c.name == "all_keywords":
        return f"all_keywords: missing: {', '.join(c.missing)}"
    if c.name == "exclude":
        return f"exclude: found: {', '.join(c.found)}"
    return f"{c.name}: none of {', '.join(c.wanted)}"


def _entities(annotator: Annotator, text: str) -> list[tuple[str, int, int, str]]:
    nlp = annotator.nlp
    assert nlp is not None
    doc = nlp(text)
    return [(e.label_, e.start_char, e.end_char, e.text) for e in doc.ents if e.label_ in ENTITY_LABELS]


def _phrases(text: str, ruleset: RuleSet, sections: _Sections) -> tuple[KeywordEvidence, ...]:
    """Every occurrence of every rule phrase, matched on token keys as the index matches them."""
    tokens = tokenize(text)
    keys = [t.key for t in tokens]
    wanted = {p for rule in ruleset.rules for p in rule.match.phrases}
    out = []
    for phrase in sorted(wanted):
        pkeys = [t.key for t in tokenize(phrase)]
        n = len(pkeys)
        for i in range(len(keys) - n + 1 if n else 0):
            if keys[i : i + n] == pkeys:
                last = tokens[i + n - 1]
                form = text[tokens[i].start : last.start + len(last.text)]
                out.append(KeywordEvidence(phrase, form, sections.place(tokens[i].start)))
    return tuple(sorted(out, key=lambda k: (k.keyword, sections.order(k.place))))


class _Sections:
    """Headline, lead (the body's first paragraph) and body, and the sentence around an offset."""

    def __init__(self, article: Article, text: str) -> None:
        self.text = text
        self.title_end = len(article.title)
        body_start = self.title_end + 2
        para = text.find("\n\n", body_start)
        self.lead_end = para if para > 0 else _first_sentence_end(text, body_start)
        self.starts = [t.start for t in tokenize(text) if t.sentence_start]

    def section(self, offset: int) -> str:
        if offset < self.title_end:
            return "headline"
        return "lead" if offset < self.lead_end else "body"

    def place(self, offset: int) -> Place:
        start = max((s for s in self.starts if s <= offset), default=0)
        start = max(start, 0 if offset < self.title_end else self.title_end + 2)
        later = [s for s in self.starts if s > offset]
        end = later[0] if later else len(self.text)
        if offset < self.title_end:
            end = min(end, self.title_end)
        return Place(self.section(offset), " ".join(self.text[start:end].split()))

    def order(self, place: Place) -> int:
        return ("headline", "lead", "body").index(place.section)


def _first_sentence_end(text: str, start: int) -> int:
    tokens: Sequence[Token] = tokenize(text[start:])
    later = [t.start for t in tokens[1:] if t.sentence_start]
    return start + later[0] if later else len(text)
