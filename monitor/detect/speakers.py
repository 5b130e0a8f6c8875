"""Whether a newcomer only speaks: a quoted source is not a party to the story.

News brings in its sources the way it brings in its actors: "..., said Rami Abdel Rahman,
head of the Syrian Observatory", "SOHR chief Rami Abdel Rahman said ...", "according to
Jane Roe, an analyst at ...". A candidate is a *source* in an article when the sentence that
brings it in (``Event.sentence``) has it as the speaker of a speech verb (``SPEECH``: said,
told, according to, ...: the name right after the verb, or right before it, an apposition
between) **and** a source's role stands beside the name (``ROLES``: director, spokesman,
analyst, head, ...: among the words of its name and title, or in its apposition). A head
of state who "said" something has no such role word beside the name ("Russian President Vladimir Putin
said ...") and stays an actor. The speaker's role is read from the sentence's words, not a
dependency parse: the annotator runs no parser (its cost is the pipeline's budget), and
"subject of a speech verb with a role apposition" is what the parse would say of these
sentences. A candidate that is a source in every supporting article that places it is a
*speaker only*: it ranks below candidates that act, and an alert of speakers alone is not
raised (``new_actor:speaker_only``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from monitor.detect.state import Event

SPEECH = r"(?:said|says|say|told|tells|added|adds|explained|stated|noted|warned|according to)"
ROLES = frozenset("""spokesman spokeswoman spokesperson analyst analysts expert director head chief
    researcher professor economist fellow observer commentator strategist scholar monitor observatory
    editor author""".split())  # noqa: SIM905
_WORDS = re.compile(r"[\w'’-]+")


def _near(sentence: str, name: str) -> tuple[str, str] | None:
    """The words before the name (its own and up to a title's) and its apposition, when it is the speaker."""
    last = re.escape(name.split(" ")[-1])  # its last word: "Abdel Rahman", "Rahman" as well
    after = re.search(rf"\b{SPEECH},?\s+((?:[\w.'’-]+\s+){{0,5}}?){last}\b(,[^,.;]{{1,120}})?", sentence)
    if after:
        return after.group(1) or "", after.group(2) or ""
    before = re.search(rf"((?:[\w.'’-]+\s+){{0,5}}){last}(?:'s)?(,[^,.;]{{1,120}},)?\s+{SPEECH}\b", sentence)
    if before:
        return before.group(1) or "", before.group(2) or ""
    return None


def source_in(sentence: str, name: str) -> bool:
    """The name speaks in the sentence with a source's role beside it."""
    found = _near(sentence, name)
    if found is None:
        return False
    words = {w.lower() for part in found for w in _WORDS.findall(part)}
    return bool(words & ROLES)


def speaker_only(name: str, events: Iterable[Event], actor: str) -> bool:
    """A source in every supporting article that tells how it is brought in (none: cannot tell)."""
    sentences = [e.sentence(actor) for e in events]
    placed = [s for s in sentences if s]
    return bool(placed) and all(source_in(s, name) for s in placed)
