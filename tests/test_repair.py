"""Letters a feed's decoder replaced with U+FFFD come back where English knows the word, so
an alias with an accent ("Sinn Féin", "Théo") still finds its actor (``monitor.repair``).
Fictional text in the shape of the 2016-17 corpus's damaged Irish and French pieces."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.annotate.annotator import Annotator
from monitor.decode import decode
from monitor.match import Matcher
from monitor.repair import repair
from monitor.rules.schema import ActorDef, MatchSpec, Rule, RuleSet

L = "\ufffd"


@pytest.mark.parametrize(("broken", "mended"), [
    (f"Sinn F{L}{L}in and Fianna F{L}{L}il in the D{L}{L}il", "Sinn Féin and Fianna Fáil in the Dáil"),
    (f"the garda{L}{L} said", "the gardaí said"),
    (f"GARDA{L}{L} APPEAL", "GARDAÍ APPEAL"),
    (f"Th{L}{L}o, 22, was hurt", "Théo, 22, was hurt"),
    (f"the T{L}{L}naiste met Miche{L}{L}l Martin", "the Tánaiste met Micheál Martin"),
    (f"An Garda S{L}{L}och{L}{L}na", "An Garda Síochána"),  # two lost letters in one word
    (f"a caf{L}{L} in D{L}{L}sseldorf", "a café in Düsseldorf"),
    (f"Bus {L}{L}ireann", "Bus Éireann"),  # a capital where the word starts
    (f"O{L}{L}Reilly said he didn{L}{L}t", "O'Reilly said he didn't"),
])
def test_lost_letters_come_back_where_the_word_is_known(broken: str, mended: str) -> None:
    assert repair(broken) == mended


@pytest.mark.parametrize("text", [
    f"Iarnr{L}{L}d Eireann",  # no candidate makes a known word: nothing is guessed
    f"a {L}10m fund",  # a lost currency sign beside digits, not a letter
    f"{L}We will not,{L} she said",  # lost quote marks
    "Nothing lost here: Sinn Féin, Théo.",
])
def test_what_no_known_word_explains_is_left_as_it_came(text: str) -> None:
    assert repair(text) == text


SF = ActorDef(id="sinn-fein", name="Sinn Féin", aliases=("Sinn Féin", "Mary Lou McDonald"))
THEO = ActorDef(id="theo", name="Théo L.", aliases=("Théo",))
RULES = RuleSet(
    rules=(Rule(id="sf", match=MatchSpec(actors=("sinn-fein",), keywords=("talks",))),
           Rule(id="theo", match=MatchSpec(actors=("theo",), keywords=("protest",)))),
    actors={a.id: a for a in (SF, THEO)},
)


def _record(title: str, body: str) -> bytes:
    return json.dumps({"id": "a1", "title": title, "body": body,
                       "published_at": "2017-02-09T12:00:00Z"}).encode()


def _matched(raw: bytes, nlp: Any = None) -> set[str]:
    article = decode(raw)
    assert not isinstance(article, str) and hasattr(article, "title"), article
    (annotated,) = Annotator(RULES, nlp).annotate([article])  # type: ignore[list-item]
    return {m.rule_id for m in Matcher(RULES).match([annotated])}


def test_a_damaged_feed_record_still_matches_its_accented_aliases(nlp: Any) -> None:
    """Decoded from the wire: the article the pipeline sees reads "Sinn Féin", and the
    rules that name Sinn Féin and Théo match as they do on the undamaged text."""
    raw = _record(f"Sinn F{L}{L}in walks out of talks",
                  f"Sinn F{L}{L}in left the talks at Stormont on Tuesday. Its leader said the talks "
                  f"had failed. Mary Lou McDonald told reporters that Sinn F{L}{L}in would not return.")
    article = decode(raw)
    assert getattr(article, "title", "") == "Sinn Féin walks out of talks"
    assert "Sinn F" + L not in getattr(article, "body", "")
    assert _matched(raw, nlp) == {"sf"}
    theo = _record(f"Protest for Th{L}{L}o in the suburbs",
                   f"Hundreds joined a protest for Th{L}{L}o on Saturday. Th{L}{L}o, 22, is still in "
                   f"hospital. Th{L}{L}o's family asked for calm as the protest ended.")
    assert _matched(theo, nlp) == {"theo"}
