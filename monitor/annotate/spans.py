"""Whether an alias hit is part of a longer name of another entity ("Lima" in "Leila de Lima")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from wordfreq import zipf_frequency

from monitor.annotate.names import TITLES, ascii_fold, clean_name
from monitor.annotate.phrases import AliasHit

Entity = tuple[str, int, int, str]  # label, start, end, text


def _words(name: str) -> list[str]:
    return ascii_fold(name).replace("-", " ").split()


def _same_person(name: str, alias: str) -> bool:
    """Same family name, and first names that agree ("Sergei"/"Sergey"; not "Paula"/"Jeff")."""
    a, b = _words(name), _words(alias)
    return len(b) > 1 and a[-1] == b[-1] and a[0][:3] == b[0][:3]


def inside_other_name(
    hit: AliasHit, hits: Sequence[AliasHit], entities: Sequence[Entity], aliases: Sequence[str]
) -> bool:
    """The hit lies inside a longer alias of another actor, or inside a longer person's name
    that is none of the actor's own names: a place's alias in a surname ("Lima" in "Leila de
    Lima"), one person's surname in another's name ("Jones" in "Paula Jones")."""
    for h in hits:
        longer = h.end - h.start > hit.end - hit.start
        if h.actor != hit.actor and h.start <= hit.start and hit.end <= h.end and longer:
            return True
    for label, start, end, text in entities:
        if label != "PERSON" or not (start <= hit.start and hit.end <= end):
            continue
        name = clean_name(text)
        if len(_words(name)) <= len(_words(hit_text(hit, text, start))):
            return False  # the entity is the alias itself, titles aside ("Mr Jones")
        return not any(_same_person(name, a) for a in aliases)
    return False


def surname_of_another(
    hit: AliasHit, hits: Sequence[AliasHit], entities: Sequence[Entity], aliases: Sequence[str], text: str
) -> bool:
    """A bare surname ("Jones") in a text that names another person of that surname in full
    ("Paula Jones") and never the actor's own full name: news names a person in full first,
    then by surname, so the surname is hers. A surname the rule lists as an alias of its own
    ("Harris" beside "Simon Harris") is one too: a piece on Sam Harris is not about Simon."""
    surnames = own_surnames(aliases)

    def bare(h: AliasHit) -> bool:
        return h.surname or (h.actor == hit.actor and text[h.start : h.end] in surnames)

    if not bare(hit) or any(h.actor == hit.actor and not bare(h) for h in hits):
        return False
    surname = ascii_fold(text[hit.start : hit.end])
    for label, _, _, found in entities:
        name = clean_name(found)
        words = _words(name)
        if label == "PERSON" and len(words) > 1 and words[-1] == surname and not any(
                _same_person(name, a) for a in aliases):
            return True
    return False


def own_surnames(aliases: Sequence[str]) -> frozenset[str]:
    """One-word aliases that end another alias of the actor: "Harris" of "Simon Harris"."""
    lasts = {a.split()[-1] for a in aliases if len(a.split()) > 1}
    return frozenset(a for a in aliases if " " not in a.strip() and a in lasts and not a.isupper())


def hit_text(hit: AliasHit, text: str, start: int) -> str:
    return text[hit.start - start : hit.end - start]


# name particles that join a longer name ("Leila de Lima", "Ursula von der Leyen")
PARTICLES = frozenset(["de", "da", "di", "du", "del", "della", "dos", "van", "von", "der", "bin", "ibn",
                       "al", "el", "la", "le"])
GIVEN_NAME = 4.0  # wordfreq Zipf below which a capitalised word before a name is part of it ("Paula")
_BEFORE = re.compile(r"(?:^|(\S))\s*([^\W\d_][\w'’-]*) $", re.S)


def after_name_word(hit: AliasHit, text: str, body_from: int, aliases: Sequence[str]) -> bool:
    """The hit follows, one space apart, a word of a longer name: a particle ("de Lima") or, in
    the body, a rare capitalised word that does not start a sentence and is no title ("Paula
    Jones"). An alias of the actor's own that holds the word ("Jeff Jones") is not affected."""
    m = _BEFORE.search(text[max(0, hit.start - 40) : hit.start])
    if m is None:
        return False
    before, word = m.group(1), m.group(2)
    own = f"{word} {text[hit.start:hit.end]}".lower()
    if any(own in a.lower() for a in aliases):
        return False
    if word.lower() in PARTICLES:
        return word.islower() or hit.start >= body_from
    if hit.start < body_from or not word[:1].isupper() or word.isupper():
        return False  # a headline's Title Case, a lower-case word, an acronym
    if before is None or before in ".!?\"“”:;\n" or word.lower().rstrip(".") in TITLES:
        return False
    return zipf_frequency(word.lower(), "en") < GIVEN_NAME
