"""The annotate stage: keywords and aliases for every article, spaCy for those that matter."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from monitor.annotate.furniture import MEDIA, clean, clean_title, is_media, main_text
from monitor.annotate.keysense import other_sense, title_case
from monitor.annotate.model import NER_ONLY, WITH_LEMMAS, select_components
from monitor.annotate.names import clean_name, entity_key, fold_people, not_an_actor
from monitor.annotate.phrases import NO_HITS, AliasHit, Hits, PhraseIndex
from monitor.annotate.salience import Sentences, where
from monitor.annotate.spans import after_name_word, inside_other_name, surname_of_another
from monitor.annotate.terms import terms_from_lemmas, terms_from_tokens
from monitor.model import Annotated, Article
from monitor.rules.schema import RuleSet
from monitor.topic import may_be_lone, reads_all_terms

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
        self.inside_names = 0  # alias hits inside a longer name of another entity, left out
        self.other_sense = 0  # keywords found only inside a name ("RAF Typhoon"), left out
        self.use_rules(ruleset)

    def use_rules(self, ruleset: RuleSet, index: PhraseIndex | None = None) -> None:
        """Swap rules; ``index`` is the set's PhraseIndex when it was built aside (off the loop)."""
        self.ruleset = ruleset
        self.index = index or PhraseIndex(ruleset)
        # keywords every rule writes in lower case: common nouns, not counted inside a name
        self.common = frozenset(k for r in ruleset.enabled for k in r.match.phrases) - frozenset(
            k for r in ruleset.enabled for k in r.match.names)
        # a rule that follows every article needs them all annotated, terms included (grouping);
        # shift and any (is it a repeat?) read terms too; only shift and grouping need the
        # model's lemmas (tagger and lemmatizer: a third of the model's time), any's repeat
        # check reads the words themselves
        self.everything = any(r.match.all for r in ruleset.enabled)
        self.want_lemmas = ruleset.needs("shift") or self.everything
        # words (or lemmas): is a keyword-led match lone (monitor.topic), is an any article a repeat
        self.want_terms = any(reads_all_terms(r) or may_be_lone(r) for r in ruleset.enabled)
        if self.nlp is not None:
            self.components = select_components(self.nlp, WITH_LEMMAS if self.want_lemmas else NER_ONLY)

    def annotate(self, articles: Sequence[Article]) -> list[Annotated]:
        raw = [self._cut(_raw_text(a)) for a in articles]
        # a feed rule (match: all) needs every article: the prefilter does not apply then
        prefilter = self.prefilter and not self.everything
        # furniture out only where the raw text has a hit: taking text away cannot add one
        may = self.index.may_hit
        texts = [self._clean(a) if not prefilter or may(r) else ""
                 for a, r in zip(articles, raw, strict=True)]
        hits = [self.index.scan(t) if t else NO_HITS for t in texts]
        todo = [i for i, h in enumerate(hits) if h.any or not prefilter]
        self.skipped += len(articles) - len(todo)
        found: dict[int, tuple[list[Entity], tuple[str, ...]]] = {}
        if self.nlp is not None and todo:
            found = self._run_model([texts[i] for i in todo], todo)
        out = []
        for i, article in enumerate(articles):
            if i not in found and not hits[i].any and prefilter:
                out.append(Annotated(article, {}, frozenset()))
                continue
            entities, lemmas = found.get(i, ([], ()))
            terms = lemmas or (terms_from_tokens(hits[i].iter_tokens()) if self.want_terms else ())
            title_len = len(clean_title(article.title))
            actors, offsets = self._actors(hits[i], entities, modelled=i in found, body_from=title_len)
            sentences = Sentences(texts[i], title_len)
            keywords, keys = other_sense(texts[i], hits[i].keys, hits[i].keywords, self.index.forms,
                                         self.common, entities, title_len)
            self.other_sense += len(hits[i].keywords) - len(keywords)
            forms = {k: self.index.forms[k] for k in keywords}
            placed = where(sentences, offsets, forms, keys)
            out.append(Annotated(article, actors, keywords, terms, nlp=i in found, where=placed))
        return out

    def _cut(self, text: str) -> str:
        return text if len(text) <= self.max_chars else text[: self.max_chars]

    def _clean(self, article: Article) -> str:
        """Headline and body without page furniture (the html's main text when there is no body)."""
        title = clean_title(article.title)
        body = article.body or ""
        if not body and article.html:
            body = main_text(article.html).removeprefix(article.title).removeprefix(title).lstrip()
        return self._cut(f"{title}\n\n{clean(body)}" if body else title)

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
                lemmas = terms_from_lemmas(_lemmas(doc)) if self.want_lemmas else ()
                out[i] = (ents, lemmas)
        return out

    def _actors(
        self, hits: Hits, entities: list[Entity], *, modelled: bool, body_from: int = 0
    ) -> tuple[dict[str, str], dict[str, list[int]]]:
        """Actor id -> display name, and actor id -> where (character offsets) it is named."""
        actors: dict[str, str] = {}
        offsets: dict[str, list[int]] = {}
        linked: list[AliasHit] = []
        # a Title Case headline gives the model no case to tell names by ("Mt. Gox Files For US
        # Chapter 15 Bankruptcy" has a person "Mt. Gox Files"): its names hide no alias
        title_cased = body_from > 0 and title_case(hits.text[:body_from])
        names = [e for e in entities if e[1] >= body_from] if title_cased else entities
        for hit in hits.aliases:
            if hit.weak and not _confirmed(hit, entities, modelled):
                continue
            if _shared_surname(hit, hits.aliases):
                continue  # Donald Trump's own alias, only Ivanka Trump's surname
            aliases = self.ruleset.actors[hit.actor].aliases
            if (inside_other_name(hit, hits.aliases, names, aliases)
                    or after_name_word(hit, hits.text, body_from, aliases)
                    or surname_of_another(hit, hits.aliases, entities, aliases, hits.text)):
                self.inside_names += 1  # part of another entity's name: not this actor
                continue
            linked.append(hit)
            actors[hit.actor] = self.ruleset.actors[hit.actor].name
            offsets.setdefault(hit.actor, []).append(hit.start)
        people: list[tuple[str, int]] = []
        for label, start, end, text in entities:
            if any(h.start < end and start < h.end for h in linked):
                continue  # the entity is an actor already linked by alias
            name = clean_name(text)
            if not name or is_media(name) or not_an_actor(name, hits.text):
                continue  # outlets, platforms, abbreviations and capitalised common words
            if label == "PERSON":
                people.append((name, start))
            else:
                key = entity_key(label, name)
                actors.setdefault(key, name)
                offsets.setdefault(key, []).append(start)
        for key, name in fold_people([n for n, _ in people]).items():
            actors.setdefault(key, name)
        for name, start in people:
            person = _person(name, actors)
            if person is not None:
                offsets.setdefault(person, []).append(start)
        return actors, offsets


def _shared_surname(hit: AliasHit, hits: tuple[AliasHit, ...]) -> bool:
    """A bare surname another actor also has at that place ("Trump" is Donald Trump's own alias
    and only Ivanka Trump's surname): the name is not hers to claim."""
    return hit.surname and any(h.actor != hit.actor and h.start < hit.end and hit.start < h.end for h in hits)


def _lemmas(doc: Any) -> Iterator[tuple[str, str]]:
    """(lemma, POS) of each token; outlets and platforms named as sources are no framing terms."""
    media = {i for e in doc.ents if e.label_ in ("ORG", "PERSON", "GPE", "WORK_OF_ART") and is_media(e.text)
             for i in range(e.start, e.end)}
    for t in doc:
        out = t.i in media or (t.pos_ == "PROPN" and t.lower_ in MEDIA)
        yield ("", "X") if out else (t.lemma_, t.pos_)


def _raw_text(article: Article) -> str:
    """What the prefilter reads: the text as it came (or the html, when there is no body)."""
    if article.body or not article.html:
        return article.text
    return f"{article.title}\n\n{article.html}"


def _person(name: str, actors: dict[str, str]) -> str | None:
    """The actor id a person mention was folded into ("Mr Lavrov" -> person:lavrov)."""
    from monitor.annotate.names import person_key

    key = person_key(name)
    if key in actors:
        return key
    return next((k for k, n in actors.items() if k.startswith("person:") and n.split(" ")[0] == name), None)


def _confirmed(hit: AliasHit, entities: list[Entity], modelled: bool) -> bool:
    """A weak alias hit counts when a named entity covers it (a person, for a bare surname)."""
    if not modelled:
        return not hit.surname  # alias-only mode: trust capitalisation
    for label, start, end, _ in entities:
        if start <= hit.start and hit.end <= end:
            return label == "PERSON" if hit.surname else True
    return False
