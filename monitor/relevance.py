"""How central a rule's actors and keywords are to an article, and why.

A rule's requirements form groups: each of ``actors``, the ``any_actors`` present, the
``keywords`` present, each of ``all_keywords``. A group scores by where it stands
(``annotate/salience.py``: sentence 0 is the headline, the first body sentences the lead)
and how many sentences name it:

    headline 1.0 · lead 0.7 · else 0.2 for one sentence, +0.15 for each more, at most 0.7

The article's relevance is its weakest group's score. A group named in two sentences or
more gains ``SUPPORT`` when another group is central (headline or lead) and ``TOGETHER``
when one sentence names every group; one passing mention gains nothing. A rule counts the
article when the relevance is at least ``match.min_relevance`` (``DEFAULT_LEVEL``): each
requirement in the headline, the lead or three sentences, or in two when another one is
central or they meet in a sentence. A single passing mention deep in a long piece ("...
the travel ban, which ...") is not coverage, however central the rest of the rule is: that
is the Grammy piece in a travel-ban count, or the Brexit piece that names Le Pen once.
Calibrated on the 2016-17 news corpus (docs/detectors.md, "Relevance").

An article is *headlined* on the rule's story when one of its requirements is in the
headline, or each is named in ``THROUGHOUT`` sentences or more, or the whole body is a lead
(a brief of ``LEAD`` sentences or fewer). One that names it only in the lead,
once or twice, is mostly background there ("... since Russia annexed Crimea in 2014"): an
``any`` rule does not forward it and a threshold needs one headlined article among its count
(round 5's held-out readers: a threshold of three pieces that each recall Crimea in a line).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.annotate.salience import LEAD, NOWHERE
from monitor.model import Annotated
from monitor.rules.schema import MatchSpec

DEFAULT_LEVEL = 0.5
HEADLINE, LEAD_SCORE = 1.0, 0.7
ONE, EACH_MORE, MOST = 0.2, 0.15, 0.7
TOGETHER = 0.15
SUPPORT = 0.15
APART = 0.45  # the most an actor never named beside the rule's story scores (below cast.SALIENT)
BODIED = 3  # body sentences from which an actor the body never names is a headline artefact
THROUGHOUT = 4  # sentences naming a requirement for an article without it in the headline to be about it
CAST_MAX = 6  # other actors of an article remembered for new_actor, most salient first
LEADING = frozenset(range(LEAD + 1))  # the headline (0) and the lead


@dataclass(frozen=True, slots=True)
class Relevance:
    """A relevance score in 0..1 and the reason a desk reads ("Syria in the headline")."""

    score: float
    why: str
    central: bool = True  # most requirements in the headline or the lead: the article is about them
    headlined: bool = True  # a requirement in the headline or named throughout: not background


def level_of(spec: MatchSpec) -> float:
    return DEFAULT_LEVEL if spec.min_relevance is None else spec.min_relevance


def _groups(item: Annotated, spec: MatchSpec) -> list[tuple[str, set[int]]]:
    w, names = item.where, item.actors
    groups = [(names.get(a, a), set(w.actors.get(a, ()))) for a in spec.actors]
    present = [a for a in spec.any_actors if a in names]
    if present:
        best = max(present, key=lambda a: _score(set(w.actors.get(a, ())))[0])
        groups.append((names[best], {s for a in present for s in w.actors.get(a, ())}))
    found = [k for k in spec.keywords if k in item.keywords]
    if found:
        best_kw = max(found, key=lambda k: _score(set(w.keywords.get(k, ())))[0])
        groups.append((best_kw, {s for k in found for s in w.keywords.get(k, ())}))
    groups += [(k, set(w.keywords.get(k, ()))) for k in spec.all_keywords]
    return groups


def _score(sentences: set[int]) -> tuple[float, str]:
    n = len(sentences)
    if not n:
        return 0.0, "not placed"
    count = min(MOST, ONE + EACH_MORE * (n - 1))
    if 0 in sentences:
        place, where = HEADLINE, "in the headline"
    elif any(s <= LEAD for s in sentences):
        place, where = LEAD_SCORE, "in the lead"
    else:
        place, where = 0.0, ""
    mentions = f"{n} mention{'s' if n != 1 else ''}"
    return max(place, count), f"{where}, {mentions}" if where and n > 1 else where or mentions


def relevance(item: Annotated, spec: MatchSpec) -> Relevance:
    """How central the rule's requirements are to the article (1.0 when it cannot tell)."""
    if item.where is NOWHERE:
        return Relevance(1.0, "")  # annotated without positions: every match counts, as before
    groups = _groups(item, spec)
    if not groups:
        return Relevance(1.0, "")
    scored = [(_score(sentences), label) for label, sentences in groups]
    score = min(s for (s, _), _ in scored)
    # a group short of the lead must be named twice for the others to lift it
    repeated = len(groups) > 1 and all(len(s) >= 2 for ((g, _), _), (_, s) in zip(scored, groups, strict=True)
                                       if g < LEAD_SCORE)
    together = repeated and bool(set.intersection(*(s for _, s in groups)))
    if repeated and score < LEAD_SCORE <= max(s for (s, _), _ in scored):
        score += SUPPORT
    if together:
        score += TOGETHER
    score = min(1.0, score)
    placed = sum(bool(s & LEADING) for _, s in groups)
    central = 2 * placed > len(groups)
    headlined = (not item.article.title.strip() or item.where.sentences <= LEAD
                 or any(0 in s for _, s in groups) or all(len(s) >= THROUGHOUT for _, s in groups))
    return Relevance(round(score, 3), _why(scored, together), central, headlined)


def _why(scored: list[tuple[tuple[float, str], str]], together: bool) -> str:
    """'United States, Syria in the headline; strike: 4 mentions; together in one sentence'."""
    placed: dict[str, list[str]] = {"in the headline": [], "in the lead": []}
    counted = []
    for (_, how), label in scored:
        where = how.split(",")[0]
        if where in placed:
            placed[where].append(label)
        else:
            counted.append(f"{label}: {how}")
    parts = [f"{', '.join(labels)} {where}" for where, labels in placed.items() if labels] + counted
    return "; ".join(parts) + ("; together in one sentence" if together else "")


def cast(item: Annotated, spec: MatchSpec) -> tuple[tuple[str, float, str], ...]:
    """The article's other actors, most salient first: (id, salience, the sentence naming it).

    Salience: 1 in the headline, 0.7 in the lead, 0.15 a sentence (at most five), and 0.5
    for standing in a sentence with the rule's story: its actors or keywords, or an actor
    that stands with them in the headline or the lead (the UN of a Syria piece brings in
    "UN Secretary-General Ban Ki-moon"). An actor that never stands with the rule's story
    scores at most ``APART``, whatever its place: the headline of a press-conference piece
    that also covers the rule's story names the conference's news, not the rule's. So does
    one named in the headline alone of an article with a body (``BODIED`` sentences or
    more): a body introduces whoever acts in it, so a name only the headline has is a piece
    of a Title-Case headline ("G20 Financial Leaders Acquiesce") or a teaser."""
    w = item.where
    if w is NOWHERE:
        return ()
    own = set(spec.actors) | set(spec.any_actors)
    focus = {s for a in own for s in w.actors.get(a, ())} | {s for k in w.keywords for s in w.keywords[k]}
    others = {a: set(ss) for a, ss in w.actors.items() if a not in own and a in item.actors}
    core = {s for ss in others.values() if ss & focus and min(ss, default=LEAD + 1) <= LEAD for s in ss}
    out = []
    for actor, sentences in others.items():
        first = min(sentences, default=LEAD + 1)
        place = HEADLINE if first == 0 else LEAD_SCORE if first <= LEAD else 0.0
        near = bool(sentences & (focus | core))
        score = place + EACH_MORE * min(5, len(sentences)) + (0.5 if near else 0.0)
        if not near:  # never beside the rule's story: another story's actor, however prominent
            score = min(score, APART)
        if sentences == {0} and w.sentences >= BODIED:  # the headline's alone: a body names its actors
            score = min(score, APART)
        out.append((actor, round(score, 3), w.quotes.get(actor, "")))
    out.sort(key=lambda x: (-x[1], x[0]))
    return tuple(out[:CAST_MAX])
