"""The annotate stage: keywords and aliases for every article, spaCy for those that matter."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from monitor.annotate.model import NER_ONLY, WITH_LEMMAS, select_components
from monitor.annotate.names import clean_name, entity_key, fold_people
from monitor.annotate.phrases import AliasHit, Hits, PhraseIndex
from monitor.annotate.terms import terms_from_lemmas, terms_from_tokens
from monitor.model import Annotated, Article
from monitor.rules.schema import RuleSet

ENTITY_LABELS = ("PERSON", "ORG", "GPE")
Entity = tuple[str, int, int, str]  # label, start, end, text


def model_batches(texts: Sequence[str], batch_size: int, batch_chars: int) -> Iterator[Sequence[str]]:
    """Consecutive runs of ``texts`` for ``nlp.pipe``: at most ``batch_size`` texts and
    ``batch_chars`` characters each (a longer text goes alone).

    spaCy holds the arrays of a whole batch at once and pads it to its longest text, so a
    batch of long articles costs memory and time that a batch of headlines does not:
    3.7 KB news articles run 11% faster in batches of 11 than of 64 (docs/benchmarks.md),
    headlines 18% slower in batches of 16 than of 64.
    """
    start, chars = 0, 0
    for i, text in enumerate(texts):
        if i > start and (i - start >= batch_size or chars + len(text) > batch_chars):
            yield texts[start:i]
            start, chars = i, 0
        chars += len(text)
    if start < len(texts):
        yield texts[start:]


class Annotator:
    """Turns articles into Annotated items; skips the model for articles no rule can match."""

    def __init__(
        self, ruleset: RuleSet, nlp: Any | None = None, *, batch_size: int = 64,
        batch_chars: int = 40_000, prefilter: bool = True, max_chars: int = 20_000,
    ) -> None:
        self.nlp = nlp
        self.batch_size = batch_size
        self.batch_chars = batch_chars
        self.prefilter = prefilter
        self.max_chars = max_chars
        self.skipped = 0  # articles the prefilter kept away from the model
        self.use_rules(ruleset)

    def use_rules(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.index = PhraseIndex(ruleset)
        self.want_terms = ruleset.needs("shift")
        if self.nlp is not None:
            self.components = select_components(self.nlp, WITH_LEMMAS if self.want_terms else NER_ONLY)

    def annotate(self, articles: Sequence[Article]) -> list[Annotated]:
        texts = [self._text(a) for a in articles]
        find = self.index.prefiltered if self.prefilter else self.index.scan
        hits = [find(t) for t in texts]
        todo = [i for i, h in enumerate(hits) if h.any or not self.prefilter]
        self.skipped += len(articles) - len(todo)
        found: dict[int, tuple[list[Entity], tuple[str, ...]]] = {}
        if self.nlp is not None and todo:
            found = self._run_model([texts[i] for i in todo], todo)
        out = []
        for i, article in enumerate(articles):
            if i not in found and not hits[i].any and self.prefilter:
                out.append(Annotated(article, {}, frozenset()))
                continue
            entities, lemmas = found.get(i, ([], ()))
            terms = lemmas or (terms_from_tokens(hits[i].tokens) if self.want_terms else ())
            actors = self._actors(hits[i], entities, modelled=i in found)
            out.append(Annotated(article, actors, hits[i].keywords, terms, nlp=i in found))
        return out

    def _text(self, article: Article) -> str:
        text = article.text
        return text if len(text) <= self.max_chars else text[: self.max_chars]

    def _run_model(
        self, texts: list[str], where: list[int]
    ) -> dict[int, tuple[list[Entity], tuple[str, ...]]]:
        nlp = self.nlp
        assert nlp is not None
        out: dict[int, tuple[list[Entity], tuple[str, ...]]] = {}
        docs = (doc for batch in model_batches(texts, self.batch_size, self.batch_chars)
                for doc in nlp.pipe(batch, batch_size=len(batch)))
        with nlp.memory_zone():
            for i, doc in zip(where, docs, strict=True):
                ents = [
                    (e.label_, e.start_char, e.end_char, e.text)
                    for e in doc.ents if e.label_ in ENTITY_LABELS
                ]
                lemmas = terms_from_lemmas((t.lemma_, t.pos_) for t in doc) if self.want_terms else ()
                out[i] = (ents, lemmas)
        return out

    def _actors(self, hits: Hits, entities: list[Entity], *, modelled: bool) -> dict[str, str]:
        actors: dict[str, str] = {}
        linked: list[AliasHit] = []
        for hit in hits.aliases:
            if hit.weak and not _confirmed(hit, entities, modelled):
                continue
            linked.append(hit)
            actors[hit.actor] = self.ruleset.actors[hit.actor].name
        people: list[str] = []
        for label, start, end, text in entities:
            if any(h.start < end and start < h.end for h in linked):
                continue  # the entity is an actor already linked by alias
            name = clean_name(text)
            if not name or not any(c.isalpha() for c in name):
                continue
            if label == "PERSON":
                people.append(name)
            else:
                actors.setdefault(entity_key(label, name), name)
        for key, name in fold_people(people).items():
            actors.setdefault(key, name)
        return actors


def _confirmed(hit: AliasHit, entities: list[Entity], modelled: bool) -> bool:
    """A weak alias hit counts when a named entity covers it (a person, for a bare surname)."""
    if not modelled:
        return not hit.surname  # alias-only mode: trust capitalisation
    for label, start, end, _ in entities:
        if start <= hit.start and hit.end <= end:
            return label == "PERSON" if hit.surname else True
    return False
