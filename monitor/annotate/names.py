"""Fold the names spaCy finds into stable actor ids: 'Mr Lavrov', 'Sergey Lavrov' -> person:lavrov."""

from __future__ import annotations

import re
import unicodedata

TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "prof",
        "sir",
        "dame",
        "lord",
        "lady",
        "president",
        "vice",
        "secretary",
        "minister",
        "foreign",
        "prime",
        "deputy",
        "defence",
        "defense",
        "interior",
        "finance",
        "general",
        "gen",
        "chancellor",
        "king",
        "queen",
        "prince",
        "princess",
        "pope",
        "sen",
        "senator",
        "rep",
        "representative",
        "gov",
        "governor",
        "mayor",
        "ambassador",
        "envoy",
        "chairman",
        "chairwoman",
        "chair",
        "ceo",
        "chief",
        "judge",
        "justice",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "commander",
        "admiral",
        "col",
        "colonel",
        "lt",
        "sgt",
        "capt",
        "captain",
        "state",
        "un",
        "u.n",
        "us",
        "u.s",
        "former",
        "acting",
        "opposition",
        "leader",
        "premier",
    ]
)
_SPACE = re.compile(r"\s+")
_EDGE = re.compile(r"^[\W_]+|[\W_]+$")


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def clean_name(text: str) -> str:
    """'Foreign Minister Sergei Lavrov's' -> 'Sergei Lavrov'; '' when nothing is left."""
    text = _SPACE.sub(" ", text.replace("’", "'")).strip()
    if text.endswith("'s"):
        text = text[:-2]
    words = [_EDGE.sub("", w) for w in text.split(" ")]
    words = [w for w in words if w]
    while words and _is_title(words[0]):
        words.pop(0)
    return " ".join(words)


def _is_title(word: str) -> bool:
    low = word.lower().rstrip(".")
    return low == "the" or all(part in TITLES for part in low.split("-"))


def person_key(name: str) -> str:
    """The id of a person: their last name, accents and case folded."""
    last = name.split(" ")[-1]
    return "person:" + ascii_fold(last)


def entity_key(label: str, name: str) -> str:
    prefix = {"PERSON": "person", "ORG": "org", "GPE": "place"}[label]
    if label == "PERSON":
        return person_key(name)
    return f"{prefix}:{ascii_fold(name)}"


def fold_people(names: list[str]) -> dict[str, str]:
    """One display name per person key in an article, the fullest form winning.

    A one-word mention that is another mention's first word ("Mr Ban" beside
    "Ban Ki-moon") joins that person rather than becoming someone new.
    """
    full = [n for n in names if " " in n]
    best: dict[str, str] = {}
    for name in names:
        if " " not in name:
            host = next((f for f in full if f.split(" ")[0] == name), None)
            if host is not None:
                name = host
        key = person_key(name)
        if len(name) > len(best.get(key, "")):
            best[key] = name
    return best


# Capitalised things NER takes for names that are no actors: time zones, units, web words,
# US state abbreviations of datelines ("Calif."), and words of page furniture.
NOT_ACTORS = frozenset(
    """gmt bst cet cest est edt pst pdt utc et pt am pm css html pdf url rss faq tv pc app apps
    calif ariz ark colo conn del fla ga ill ind kan ky la md mass mich minn miss mo mont neb nev
    okla ore pa tenn tex va vt wis wyo wash jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue wed thu fri sat sun getty live video photo image caption copyright""".split()  # noqa: SIM905
)
_WORD_RE = re.compile(r"[^\W\d_]+")


def not_an_actor(name: str, text: str) -> bool:
    """A lower-case word ("genie", "intel"), an abbreviation or dateline word ("GMT",
    "Calif"), or one capitalised word that the same text also uses in lower case
    ("Turnout was low ... the turnout")."""
    words = name.split(" ")
    if not name[:1].isupper():
        return True
    if len(words) > 1:
        return False
    low = name.lower().rstrip(".")
    if low in NOT_ACTORS:
        return True
    return not name.isupper() and re.search(rf"(?<![\w-]){re.escape(low)}(?![\w-])", text) is not None
