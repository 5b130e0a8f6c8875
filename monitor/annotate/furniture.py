"""Page furniture and credits out of an article's text, before anything is looked for in it.

Scrapers deliver more than the story: related-story lists, photo captions, share buttons,
copyright, cookie and browser notices, "LIVE:" banners, bylines, contributor lines, and
reporters named as the source of what follows ("the BBC's Nick Bryant in New York says").
None of it is what the article is about, so none of it may give an actor, a keyword or a
framing term. ``clean`` removes it from plain text in three cheap passes:

1. paragraphs (lines) that are furniture by their form (``_LINE``), and short lines that
   jusText's paragraph classification calls boilerplate (link-list-like: few stop-words)
   when they stand among other short lines (a sidebar), never a line of the story itself;
2. furniture that scrapers run into the text without a line break (``_INLINE``);
3. reporter attributions (``_without_reporters``): the reporter goes, what they report stays.

``main_text`` takes the story out of a page's html with trafilatura, then cleans it.
The cost is paid only by articles that concern some rule (the annotator's prefilter runs
on the raw text first: removing text can only remove hits).
"""

from __future__ import annotations

import re
from functools import lru_cache

from monitor.repair import repair

# Outlets, agencies and platforms cited as sources: never actors unless a rule names one.
MEDIA = frozenset(
    """bbc|bbc news|bbc world service|cnn|msnbc|cnbc|fox|fox news|fox business|nbc|nbc news|cbs|cbs news|
    abc|abc news|npr|pbs|c-span|reuters|ap|associated press|the associated press|afp|agence france-presse|
    agence france presse|bloomberg|bloomberg news|new york times|the new york times|nyt|times|the times|
    washington post|the washington post|wall street journal|the wall street journal|wsj|usa today|
    los angeles times|chicago tribune|boston globe|new york post|new york daily news|the hill|politico|
    axios|vox|slate|salon|the atlantic|newsweek|time magazine|the economist|economist|financial times|ft|
    guardian|the guardian|observer|the observer|telegraph|the telegraph|daily telegraph|independent|
    the independent|daily mail|mail online|the sun|mirror|daily mirror|sky news|itv|itv news|channel 4|
    channel 4 news|buzzfeed|buzzfeed news|huffpost|huffington post|the huffington post|breitbart|
    breitbart news|daily beast|the daily beast|al jazeera|rt|russia today|sputnik|tass|interfax|ria novosti|
    xinhua|china daily|global times|cctv|yonhap|kyodo|nhk|dw|deutsche welle|rte|euronews|france 24|
    le monde|le figaro|der spiegel|spiegel|bild|die zeit|el pais|haaretz|times of israel|jerusalem post|
    anadolu|anadolu agency|hurriyet|dawn|twitter|facebook|youtube|instagram|whatsapp|snapchat|reddit|
    telegram|tumblr|linkedin|google+|medium|periscope|recode|techcrunch|the verge|mashable|
    engadget|gizmodo|quartz|business insider|the intercept|mother jones|propublica|national review|
    daily caller|the daily caller|infowars|drudge report|tmz|hollywood reporter|
    the hollywood reporter|rolling stone|vanity fair|new yorker|the new yorker|politico europe|
    the scotsman|irish times|the irish times|times of india|the hindu|hindustan times|arab news|
    gulf news|south china morning post|scmp|straits times|the straits times|sydney morning herald|
    abc australia|cbc|cbc news|ctv|globe and mail|the globe and mail|toronto star|la repubblica|
    corriere della sera|el mundo|efe|ansa|dpa|pti|press trust of india|press tv|irna|tasnim|
    al arabiya|yomiuri|asahi|kyodo news|yonhap news agency|kcna|voice of america|voa|radio free europe|
    rfe/rl|miami herald|santiago times|usa today network|mcclatchy|gannett|axel springer"""
    .replace("\n", "").replace("    ", "").split("|")
)
# how outlets are written in running text, for the attributions below (longest first)
_OUTLETS = sorted(
    """BBC|BBC News|CNN|MSNBC|CNBC|Fox News|Fox|NBC News|NBC|CBS News|CBS|ABC News|ABC|NPR|PBS|Reuters|AP|
    Associated Press|AFP|Bloomberg|New York Times|Washington Post|Wall Street Journal|USA Today|
    Los Angeles Times|Guardian|Observer|Telegraph|Independent|Financial Times|Times|Sky News|ITV|Channel 4|
    Al Jazeera|RT|Sputnik|TASS|Tass|Xinhua|China Daily|DW|RTE|Politico|BuzzFeed|HuffPost|Huffington Post|
    Breitbart|Newsweek|Economist|Daily Mail|Euronews|France 24""".replace("\n", "").replace("    ", "")
    .split("|"),
    key=len, reverse=True,
)
_MEDIA_RE = "|".join(re.escape(o) for o in _OUTLETS)
_NAME = r"[A-Z][a-z'’-]+(?:\s+(?:[A-Z]\.\s*)?[A-Z][a-z'’-]+){1,2}"
_ROLE = r"(?:[a-z-]+\s+){0,3}(?:correspondent|editor|reporter|writer|analyst|producer|presenter|journalist)s?"
_PLACE = r"(?:\s*,?\s*(?:reporting\s+)?(?:in|at|from)\s+(?:the\s+)?[A-Z][\w-]*(?:\s+[A-Z][\w-]*){0,2})?"
# CNN's Jake Tapper; the BBC's Nick Bryant in New York; Al Jazeera's James Bays, reporting from ...
# (found by the possessive, then the outlet before it is checked: one big alternation at every
# position of the text would cost a quarter of a millisecond an article)
_BY_OUTLET = re.compile(rf"['’]s?\s+(?:{_ROLE}\s+)?{_NAME}{_PLACE}")
_OUTLET_BEFORE = re.compile(rf"\b(?:the\s+|our\s+)?(?:{_MEDIA_RE})$")
_WITH_ROLE = re.compile(  # run only on a text with a role word in it
    "|".join([
        # BBC correspondent Nick Bryant
        rf"\b(?:{_MEDIA_RE})\s+{_ROLE}\s+{_NAME}{_PLACE}",
        # our correspondent Anthony Zurcher; the BBC's diplomatic editor James Robbins
        rf"\b(?:[Oo]ur|[Tt]he|[Aa])\s+(?:[A-Z][\w.]*['’]s\s+)?{_ROLE}\s+{_NAME}{_PLACE}",
        # Jeremy Bowen, the BBC's Middle East editor; Sanjay Gupta, CNN's chief medical correspondent
        rf"\b{_NAME}\s*,\s*(?:the\s+|our\s+)?(?:[A-Z][\w.]*(?:\s+[A-Z][\w.]*)*['’]s?\s+)?{_ROLE}{_PLACE}",
    ])
)
_ROLE_WORDS = ("correspondent", "editor", "reporter", "writer", "analyst", "producer", "presenter",
               "journalist")
# the Harbour Ledger's Nick Brant in Brennport says (any outlet, then a reporting verb)
_ANY_OUTLET = re.compile(
    rf"\b(?:the|our)\s+(?:[A-Z][\w-]*\s+){{0,3}}[A-Z][\w-]*['’]s\s+(?:{_ROLE}\s+)?{_NAME}{_PLACE}"
    r"(?=\s*,?\s*(?:says|said|reports|reported|writes|wrote|adds|added)\b)"
)


def _without_reporters(text: str) -> str:
    """The reporter of an attribution out, the sentence that carries what they report kept."""
    out, last = [], 0
    for m in _BY_OUTLET.finditer(text):
        outlet = _OUTLET_BEFORE.search(text, max(last, m.start() - 40), m.start())
        if outlet is not None:
            out.append(text[last : outlet.start()])
            out.append(" ")
            last = m.end()
    out.append(text[last:])
    text = "".join(out)
    if any(word in text for word in _ROLE_WORDS):
        text = _WITH_ROLE.sub(" ", text)
    return _ANY_OUTLET.sub(" ", text)


_LINE = re.compile(
    r"""^\W{0,3}(?:
      (?:By|Written\ by|Reporting\ by|Additional\ reporting\ by|Edited\ by|Words\ by)\s+[A-Z][^.!?]{0,120}$
    | (?:[A-Z][a-z]+\ ){0,3}(?:[Cc]orrespondent|[Ee]ditor|[Rr]eporter|[Ww]riter|[Pp]roducer)s?\W{0,3}$
    | (?:More\ on\ this\ story|Related\ (?:stories|topics|content|articles|coverage|links)|Related|RELATED
       |Read\ more|READ\ MORE|Also\ read|ALSO\ READ|See\ also|Most\ (?:read|popular|watched)|Top\ stories
       |Around\ the\ (?:BBC|web)|You\ may\ also\ like|Recommended|Trending|Share\ this|Share\ on|Follow\ us
       |Sign\ up|Subscribe|Advertisement|Skip\ to|Jump\ to|Back\ to\ top|Image|Photo|Picture|Video|Media
       |Caption|Getty\ Images|Copyright|All\ rights\ reserved|LIVE|Live|BREAKING|Breaking|WATCH|Watch
       |PHOTOS)\b
    | .{0,200}(?:©|\(c\)\s*\d{4}|contributed\ to\ this\ (?:report|story|article)
       |[Yy]our\ browser|[Cc]ookies?\ (?:policy|settings|are\ enabled|to\ )|JavaScript|[Jj]avascript
       |style\ ?sheets?|\bCSS\b|[Mm]edia\ playback|[Pp]lease\ (?:enable|update|upgrade))
    )""",
    re.VERBOSE,
)
_LINE_MAX = 250  # a longer line is story text with furniture run into it: only spans go
_SHORT_LINE = 90  # below this many characters a line may be a sidebar entry
_PLATFORMS = r"(?:Email|E-mail|Facebook|Messenger|Twitter|Pinterest|WhatsApp|Whatsapp|LinkedIn|linkedin|" \
             r"Google\+|Tumblr|Reddit|reddit|Digg|stumble|Newsvine|Print|Copy\s+this\s+link|Share)"
_INLINE = tuple(re.compile(p) for p in (  # one by one: sre finds a literal start fast, an alternation not
        r"[Jj]ava[Ss]cript\s+and\s+cookies\s+are\s+enabled(?:\s+or\s+update\s+your\s+browser)?",
        r"[Mm]edia\s+playback\s+is\s+(?:unsupported|not\s+supported)\s+on\s+your\s+device",
        rf"Share\s+this\s+with(?:\s+{_PLATFORMS})*",
        rf"{_PLATFORMS}(?:\s+{_PLATFORMS}){{2,}}",
        r"Image\s+(?:copyright|source)\s+(?:(?!Image\b)[A-Z][\w/&.-]*\s*){1,4}",
        r"(?:Image|Photo|Picture)\s+caption\s+[^.!?\n]*[.!?]?",
        r"\((?:Photo|Picture|Image|Credit|File\s+photo)s?:[^)]{0,120}\)",
        r"(?:Photo|Picture|Image|Credit)s?:\s*(?:[A-Z][\w/&.-]*\s*){1,5}(?=\s|$)",
        r"(?:READ\s+MORE|Read\s+more|ALSO\s+READ|RELATED|More\s+on\s+this\s+story)\s*:?[^.!?\n]{0,100}",
        r"(?:Copyright|©)\s*(?:@|\(c\))?\s*\d{0,4}[^.\n]{0,80}[.]?",
        r"LIVE\s*:\s*",
))
# furniture known by a phrase inside its sentence: the whole sentence goes
_IN_SENTENCE = re.compile(
    r"(?:[Yy]our|[Tt]his)\s+(?:device|browser)\s+(?:does\s+not|doesn't|may\s+not)\s+support"
    r"|\b(?:style\s?sheets?|CSS)\b|\b(?:uses|use\s+of)\s+cookies\b"
    r"|\bcontributed\s+to\s+this\s+(?:report|story|article)\b"
)
_ENDS = re.compile(r"[.!?\n]")
_REACH = 200  # characters a furniture sentence reaches either side of its phrase


def _without_sentences(text: str) -> str:
    """Cut the sentence around each ``_IN_SENTENCE`` phrase (at most ``_REACH`` either side)."""
    out, last = [], 0
    for m in _IN_SENTENCE.finditer(text):
        if m.start() < last:
            continue
        back = text.rfind(".", max(last, m.start() - _REACH), m.start())
        line = text.rfind("\n", max(last, m.start() - _REACH), m.start())
        start = max(back, line) + 1 if max(back, line) >= 0 else max(last, m.start() - _REACH)
        end = _ENDS.search(text, m.end(), m.end() + _REACH)
        stop = end.end() if end else min(len(text), m.end() + _REACH)
        out.append(text[last:start])
        out.append(" ")
        last = stop
    out.append(text[last:])
    return "".join(out)


_DATELINE = re.compile(
    r"^\s*[A-Z][A-Z.'-]+(?:\s+[A-Z][A-Z.'-]+){0,2}(?:,\s*[A-Z][a-z.]+(?:\s+\d{1,2})?)?"
    r"\s*(?:\((?:[A-Z][A-Za-z. ]{1,24})\))?\s*[—–-]{1,2}\s+",
    re.MULTILINE,
)
_BLANKS = re.compile(r"[ \t]{2,}")


def clean(body: str) -> str:
    """The article's body without page furniture, credits and reporter attributions."""
    lines = [line.strip() for line in body.splitlines()]
    kept = [line for line in lines if line and not (len(line) <= _LINE_MAX and _LINE.match(line))]
    kept = _without_sidebars(kept)
    text = "\n".join(_DATELINE.sub("", line, count=1) for line in kept)
    text = _without_sentences(text)
    for pattern in _INLINE:
        text = pattern.sub(" ", text)
    text = _without_reporters(text)
    return _BLANKS.sub(" ", text).strip()


def clean_title(title: str) -> str:
    """A headline without a live banner or a trailing outlet name ("... - BBC News")."""
    title = re.sub(r"^\s*(?:LIVE|Live|BREAKING|Breaking|WATCH|VIDEO)\s*[:|-]\s*", "", title)
    return re.sub(rf"\s+[-|–—]\s+(?:{_MEDIA_RE})(?:\s+\w+)?\s*$", "", title)


def _without_sidebars(lines: list[str]) -> list[str]:
    """Drop runs of two or more short lines that jusText calls boilerplate: link lists, captions."""
    if len(lines) < 3 or sum(len(x) < _SHORT_LINE for x in lines) < 2:
        return lines
    bad = _boilerplate(tuple(lines))
    out = []
    for i, line in enumerate(lines):
        short_run = len(line) < _SHORT_LINE and any(
            0 <= j < len(lines) and len(lines[j]) < _SHORT_LINE and bad[j] for j in (i - 1, i + 1)
        )
        if not (bad[i] and short_run):
            out.append(line)
    return out


@lru_cache(maxsize=1)
def _stoplist() -> frozenset[str]:
    import justext

    return frozenset(justext.get_stoplist("English"))


def _boilerplate(lines: tuple[str, ...]) -> list[bool]:
    """jusText's context-free classification of each line as a paragraph ("bad" = boilerplate)."""
    from justext.core import classify_paragraphs
    from justext.paragraph import Paragraph

    class _Path:
        dom = "p"
        xpath = "/html/body/p"

    paragraphs = []
    for line in lines:
        p = Paragraph(_Path())
        p.text_nodes = [line]
        paragraphs.append(p)
    classify_paragraphs(paragraphs, _stoplist(), length_low=70, length_high=200,
                        stopwords_low=0.30, stopwords_high=0.32, max_link_density=0.2, no_headings=True)
    return [p.cf_class == "bad" or (p.cf_class == "short" and len(p.text) < 60) for p in paragraphs]


def main_text(html: str) -> str:
    """The story's text out of a page (trafilatura), cleaned like any body; '' if none."""
    import trafilatura

    try:
        text = trafilatura.extract(
            html, include_comments=False, include_tables=False, include_images=False,
            include_links=False, favor_precision=True, deduplicate=True,
        )
    except (ValueError, TypeError, LookupError):  # markup lxml cannot parse: the headline alone stays
        return ""
    return clean(repair(text or ""))


def is_media(name: str) -> bool:
    """An outlet, agency or platform ("the New York Times", "CNN", "Twitter")."""
    low = " ".join(name.lower().replace("’", "'").split())
    if low.endswith("'s"):
        low = low[:-2]
    return low in MEDIA or (low.startswith("the ") and low[4:] in MEDIA)
