"""Annotation: keywords with inflections, aliases with case and word boundaries, name variants."""

from __future__ import annotations

from typing import Any

import pytest
from builders import article

from monitor.annotate.annotator import Annotator, model_batches
from monitor.annotate.names import clean_name, fold_people
from monitor.annotate.terms import terms_from_lemmas, terms_from_tokens
from monitor.annotate.tokens import fold, tokenize
from monitor.rules.schema import ActorDef, MatchSpec, Rule, RuleSet

ACTORS = {
    "united-states": ActorDef("united-states", "United States",
                              ("US", "U.S.", "United States", "America", "Washington", "White House")),
    "syria": ActorDef("syria", "Syria", ("Syria", "Damascus", "Syrian")),
    "france-nice": ActorDef("france-nice", "Nice", ("Nice",)),
    "russia": ActorDef("russia", "Russia", ("Russia", "Moscow", "Kremlin")),
    "lavrov": ActorDef("lavrov", "Sergei Lavrov", ("Sergei Lavrov", "Sergey Lavrov")),
}
RULES = RuleSet(actors=ACTORS, rules=(
    Rule("r", MatchSpec(any_actors=("united-states",),
                        keywords=("strike", "military threat", "ceasefire", "walkout"))),
))


def annotate(text: str, nlp: Any = None, title: str = "t") -> tuple[dict[str, str], set[str]]:
    (out,) = Annotator(RULES, nlp).annotate([article("1", title=title, body=text)])
    return dict(out.actors), set(out.keywords)


@pytest.mark.parametrize(
    ("word", "key"),
    [("strikes", "strike"), ("striking", "strike"), ("threats", "threat"), ("walkouts", "walkout"),
     ("cease-fire", "ceasefire"), ("Talks", "talk"), ("negotiating", "negotiate"), ("agreed", "agree")],
)
def test_inflections_fold_to_one_key(word: str, key: str) -> None:
    assert fold(word) == key


@pytest.mark.parametrize(
    ("text", "keywords"),
    [
        ("Warplanes carried out strikes overnight.", {"strike"}),
        ("Dockers are striking again.", {"strike"}),
        ("It faced new military threats.", {"military threat"}),
        ("A Cease-fire holds.", {"ceasefire"}),
        ("The strikers were paid.", set()),  # a different word, not an inflection
        ("A military that threatens nobody.", set()),  # both words, not the phrase
    ],
)
def test_keywords_whole_words_case_and_inflection(text: str, keywords: set[str]) -> None:
    assert annotate(text)[1] == keywords


@pytest.mark.parametrize(
    ("text", "actors"),
    [
        ("Talks in Washington and Damascus.", {"united-states", "syria"}),
        ("Let us hope for the best.", set()),  # "us" is not "US"
        ("The U.S. said no.", {"united-states"}),
        ("Syria's army moved.", {"syria"}),  # possessive
        ("Syrians protested.", set()),  # not a whole-word alias
        ("USA Today wrote it.", set()),  # "USA" is not "US"
        ("SYRIA: NEW CLASHES.", {"syria"}),  # shouted headline, alias-only mode
    ],
)
def test_aliases_respect_case_and_boundaries_without_model(text: str, actors: set[str]) -> None:
    assert set(annotate(text)[0]) == actors


def test_prefilter_skips_articles_no_rule_concerns() -> None:
    annotator = Annotator(RULES, None)
    items = annotator.annotate([article("1", title="Football results"), article("2", title="US strike")])
    assert annotator.skipped == 1
    assert items[0].actors == {} and set(items[1].actors) == {"united-states"}


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("Foreign Minister Sergei Lavrov", "Sergei Lavrov"), ("Mr Lavrov's", "Lavrov"),
     ("U.N. Secretary-General Ban Ki-moon", "Ban Ki-moon"), ("President Obama", "Obama")],
)
def test_titles_are_stripped(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_name_variants_fold_to_one_person() -> None:
    assert fold_people(["Sergey Lavrov", "Lavrov", "Ban Ki-moon", "Ban"]) == {
        "person:lavrov": "Sergey Lavrov", "person:ki-moon": "Ban Ki-moon",
    }


def test_two_word_terms_join_over_of_and_hyphens_only() -> None:
    items = [("threat", "NOUN"), ("of", "ADP"), ("force", "NOUN"), ("remain", "VERB"), (",", "PUNCT"),
             ("cease", "NOUN"), ("-", "PUNCT"), ("fire", "NOUN"), ("military", "ADJ"), ("action", "NOUN"),
             (".", "PUNCT"), ("diplomat", "NOUN"), ("\"", "PUNCT"), ("warn", "VERB")]
    terms = terms_from_lemmas(items)
    assert {"threat force", "force remain", "cease fire", "fire military", "military action"} <= set(terms)
    assert not {"remain cease", "action diplomat", "diplomat warn"} & set(terms)  # punctuation ends a pair


def test_terms_without_a_model_do_not_pair_across_sentences() -> None:
    terms = terms_from_tokens(tokenize("Military action loomed. Diplomats pressed sanctions; envoys left"))
    assert {"military action", "action loomed", "diplomat pressed", "pressed sanction"} <= set(terms)
    assert not {"loomed diplomat", "sanction envoy"} & set(terms)


@pytest.mark.parametrize(("lengths", "size", "chars", "runs"), [
    pytest.param([], 4, 100, [], id="nothing"),
    pytest.param([10] * 9, 4, 1_000, [4, 4, 1], id="by-count"),
    pytest.param([30, 30, 30, 30, 30], 64, 100, [3, 2], id="by-characters"),
    pytest.param([10, 500, 10, 10], 64, 100, [1, 1, 2], id="a-long-text-goes-alone"),
    pytest.param([500, 500], 64, 100, [1, 1], id="only-long-texts"),
])
def test_model_batches_cut_by_count_and_characters(
    lengths: list[int], size: int, chars: int, runs: list[int],
) -> None:
    texts = [str(i % 10) * n for i, n in enumerate(lengths)]
    batches = list(model_batches(texts, size, chars))
    assert [len(b) for b in batches] == runs
    assert [t for b in batches for t in b] == texts  # every text once, in order
    assert all(len(b) <= size and (len(b) == 1 or sum(map(len, b)) <= chars) for b in batches)


# ---- with the real statistical English model ------------------------------------------------

class _Watched:
    """The real pipeline, with the size of every batch it is given written down."""

    def __init__(self, nlp: Any) -> None:
        self.nlp, self.batches = nlp, []

    def pipe(self, texts: list[str], batch_size: int) -> Any:
        self.batches.append((len(texts), batch_size, sum(map(len, texts))))
        return self.nlp.pipe(texts, batch_size=batch_size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.nlp, name)


@pytest.mark.slow
def test_long_articles_go_to_the_model_in_smaller_batches_with_the_same_results(nlp: Any) -> None:
    body = ("Washington said a military strike on Syria stays possible while Sergei Lavrov met "
            "envoys in Geneva. ")
    items = [article(str(i), title=f"Talks {i}", body=body * (1 + 12 * (i % 3))) for i in range(12)]
    baseline = Annotator(RULES, nlp, batch_size=64, batch_chars=10**9).annotate(items)
    watched = _Watched(nlp)
    annotator = Annotator(RULES, watched, batch_size=4, batch_chars=3_000)
    assert [(a.actors, a.keywords) for a in annotator.annotate(items)] == \
        [(a.actors, a.keywords) for a in baseline]
    assert sum(n for n, _, _ in watched.batches) == len(items)
    assert all(n == size and n <= 4 and (n == 1 or chars <= 3_000) for n, size, chars in watched.batches)
    assert len(watched.batches) > 3  # the character budget, not only the count, cut them

@pytest.mark.slow
def test_model_links_aliases_and_finds_new_people(nlp: Any) -> None:
    actors, keywords = annotate(
        "Secretary of State John Kerry met Russia's foreign minister in Geneva on Thursday. "
        "Washington still wants the threat of a military strike on Syria to stay on the table.",
        nlp, title="Kerry and Lavrov meet over Syria",
    )
    assert {"united-states", "syria", "russia"} <= set(actors)
    assert actors["person:kerry"] == "John Kerry"
    assert "strike" in keywords


@pytest.mark.slow
def test_model_tells_the_city_of_nice_from_nice_weather(nlp: Any) -> None:
    city, _ = annotate("Protesters marched through Nice on Saturday, police in Nice said.", nlp)
    weather, _ = annotate("Nice weather helped the US crowds. It was a nice day.", nlp)
    assert "france-nice" in city
    assert "france-nice" not in weather
    assert "united-states" in weather


@pytest.mark.slow
def test_model_folds_name_variants_and_honorifics(nlp: Any) -> None:
    actors, _ = annotate(
        "Sergey Lavrov arrived in Geneva. Mr Lavrov told reporters the US plan was premature. "
        "Lavrov later met Ban Ki-moon.", nlp, title="Lavrov in Geneva",
    )
    assert actors["lavrov"] == "Sergei Lavrov"  # linked by alias and by surname to one actor
    assert "person:lavrov" not in actors
    people = {k for k in actors if k.startswith("person:")}
    assert people == {"person:ki-moon"}


@pytest.mark.slow
def test_model_terms_do_not_pair_across_sentences(nlp: Any) -> None:
    shift = RuleSet(actors=ACTORS, rules=(Rule("s", MatchSpec(keywords=("strike",)), detect=("shift",)),))
    (out,) = Annotator(shift, nlp).annotate([article(
        "1", title="Strike talks", body="Officials weighed a military strike. Diplomats urged patience.")])
    assert "military strike" in out.terms and "diplomat" in out.terms
    assert "strike diplomat" not in out.terms


@pytest.mark.slow
def test_model_runs_only_the_components_rules_need(nlp: Any) -> None:
    annotator = Annotator(RULES, nlp)
    assert annotator.components == ["ner"]
    with_shift = RuleSet(actors=ACTORS, rules=(Rule("s", MatchSpec(keywords=("x",)), detect=("shift",)),))
    annotator.use_rules(with_shift)
    assert "lemmatizer" in annotator.components and "parser" not in annotator.components
    # any reads terms (is it a repeat?) but not lemmas: the words themselves, the model NER only
    with_any = RuleSet(actors=ACTORS, rules=(Rule("a", MatchSpec(keywords=("strike",)), detect=("any",)),))
    annotator.use_rules(with_any)
    assert annotator.components == ["ner"]
    piece = article("1", title="Strike talks", body="Officials weighed military strikes.")
    (out,) = annotator.annotate([piece])
    assert "military strike" in out.terms and "official" in out.terms, out.terms
    annotator.use_rules(RULES)


def test_a_feed_rule_has_every_article_annotated_with_terms() -> None:
    feed = Rule(id="feed", match=MatchSpec(all=True))
    annotator = Annotator(RuleSet(actors=RULES.actors, rules=(*RULES.rules, feed)), None)
    items = annotator.annotate([article("1", title="Football results: Harbour Town win the cup final")])
    assert annotator.skipped == 0
    assert {"football", "cup", "cup final"} <= set(items[0].terms)
