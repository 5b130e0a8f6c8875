"""Page furniture and credits give no actor, keyword or framing term (real English model).

tests/fixtures/furniture-page.txt is a page as a scraper delivers it in plain text, and
furniture-page.html the same page as html (body absent: its main text is extracted). Both
carry a live banner, a byline, share buttons, a browser/CSS notice, a photo caption, a
reporter attribution, outlets cited as sources, a related-stories list, a contributor line,
a cookie notice and a copyright footer around a four-paragraph story.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.annotate.annotator import Annotator
from monitor.annotate.furniture import clean, clean_title, is_media, main_text
from monitor.annotate.names import not_an_actor
from monitor.model import Annotated, Article
from monitor.rules import load_rules

FIXTURES = Path(__file__).parent / "fixtures"
TITLE = "Norvania and Estmark reopen Brennport harbour"
RULES = """
actors:
  norvania: {name: Norvania, aliases: [Norvania]}
  estmark: {name: Estmark, aliases: [Estmark]}
rules:
  - id: harbour
    match:
      any_actors: [norvania, estmark]
      keywords: [harbour, strike, cookie, browser, copyright, share, video, caption, rally]
    detect: [threshold, shift, new_actor]
"""
# every name and word that only the furniture holds
FURNITURE_NAMES = ("Tom Hale", "Hale", "Gordon Andrews", "Andrews", "Nick Brant", "Brant", "Maria Olsen",
                   "Olsen", "Oslo", "Delhi", "Japan", "G20", "Osaka", "Getty", "CSS", "Northwind Wire",
                   "CNN", "New York Times", "Reuters", "Twitter", "Associated Press", "Email", "Messenger")
FURNITURE_WORDS = {"live", "hale", "andrews", "brant", "olsen", "oslo", "delhi", "japan", "osaka", "getty",
                   "css", "browser", "cookie", "copyright", "share", "email", "messenger", "video", "caption",
                   "strike", "rally", "airport", "union", "market", "page", "experience", "reserved",
                   "contribute", "correspondent", "image", "cnn", "reuters", "twitter", "times", "diplomatic"}
STORY_ACTORS = {"Norvania", "Estmark", "Ilse Varga", "Piet Dalmann"}


@pytest.fixture(autouse=True)
def _rules(tmp_path: Path) -> None:
    (tmp_path / "harbour.yaml").write_text(RULES)
    global RULES_PATH
    RULES_PATH = tmp_path / "harbour.yaml"


RULES_PATH = Path()


def annotate(nlp: Any, **fields: Any) -> Annotated:
    rules = load_rules([RULES_PATH])
    article = Article(id="page", title=fields.pop("title", TITLE),
                      published_at=datetime(2026, 3, 3, tzinfo=UTC), source="Northwind Wire", **fields)
    (item,) = Annotator(rules, nlp).annotate([article])
    return item


def check(item: Annotated) -> None:
    names = set(item.actors.values())
    assert not {n for n in names if any(f in n for f in FURNITURE_NAMES)}, names
    assert names >= STORY_ACTORS, names
    assert item.keywords == {"harbour"}
    words = {w for t in item.terms for w in t.split(" ")}
    assert not words & FURNITURE_WORDS, sorted(words & FURNITURE_WORDS)
    assert {"inspection", "blockade", "grain"} <= words  # the story's own terms are there


@pytest.mark.slow
def test_plain_text_page_gives_only_the_story(nlp: Any) -> None:
    check(annotate(nlp, body=(FIXTURES / "furniture-page.txt").read_text()))


@pytest.mark.slow
def test_html_page_gives_only_the_story(nlp: Any) -> None:
    item = annotate(nlp, html=(FIXTURES / "furniture-page.html").read_text())
    check(item)
    assert item.where.actors["estmark"][0] == 0  # the headline, not the page's repeat of it


@pytest.mark.slow
def test_the_reported_sentence_stays_without_the_reporter(nlp: Any) -> None:
    item = annotate(nlp, body=(FIXTURES / "furniture-page.txt").read_text())
    assert "joint inspection team" in item.where.quotes["person:varga"] or "person:dalmann" in item.actors


def test_inline_furniture_of_one_line_scrapes() -> None:
    text = ("Talks resumed on Monday. Please check Javascript and cookies are enabled or update your browser "
            "Share this with Email Facebook Messenger Twitter Image copyright Reuters Image caption Jon Ake "
            "waves to crowds. Lena Moor, our diplomatic correspondent, says the deal is close. "
            "Facebook Twitter Google+ Whatsapp Tumblr linkedin The harbour stays shut. "
            "Ian Holt contributed to this report.")
    out = clean(text)
    assert out.startswith("Talks resumed on Monday.") and out.endswith("The harbour stays shut."), out
    assert "says the deal is close." in out
    for word in ("browser", "Share", "Email", "Twitter", "Reuters", "Jon Ake", "Lena Moor", "Ian Holt",
                 "Tumblr"):
        assert word not in out, (word, out)


@pytest.mark.parametrize(("title", "clean_one"), [
    ("LIVE: Harbour talks resume", "Harbour talks resume"),
    ("Harbour talks resume - BBC News", "Harbour talks resume"),
    ("Harbour talks resume", "Harbour talks resume"),
])
def test_titles_lose_banners_and_outlet(title: str, clean_one: str) -> None:
    assert clean_title(title) == clean_one


@pytest.mark.parametrize(("name", "media"), [
    ("CNN", True), ("the New York Times", True), ("Twitter", True), ("Fox News's", True),
    ("Vladimir Putin", False), ("Estmark", False),
])
def test_outlets_and_platforms_are_media(name: str, media: bool) -> None:
    assert is_media(name) is media


@pytest.mark.parametrize(("name", "text", "out"), [
    ("genie", "the genie is out", True), ("intel", "new intel", True), ("GMT", "at 10:00 GMT", True),
    ("Calif", "LOS ANGELES, Calif.", True), ("Turnout", "Turnout was low; the turnout fell", True),
    ("Putin", "Putin said", False), ("Japan", "Japan and China", False), ("NATO", "NATO said", False),
])
def test_common_words_and_abbreviations_are_not_actors(name: str, text: str, out: bool) -> None:
    assert not_an_actor(name, text) is out


def test_html_is_part_of_the_article_contract() -> None:
    from monitor.decode import decode

    page = "<html><body><article><p>Ministers met in Brennport.</p></article></body></html>"
    article = decode(json.dumps({"id": "p", "title": "Talks", "html": page,
                                 "published_at": "2026-03-03T10:00:00Z"}))
    assert isinstance(article, Article) and article.html == page and article.body is None
    assert "html" not in article.extra
    bad = decode(json.dumps({"id": "p", "title": "Talks", "html": 3, "published_at": "2026-03-03T10:00:00Z"}))
    assert not isinstance(bad, Article) and bad.reason == "wrong_type"


def test_a_page_that_is_not_html_leaves_the_headline() -> None:
    assert main_text("") == ""
    assert main_text("\x00<<<>>>") == ""


@pytest.mark.parametrize(("text", "out"), [
    ("MOSCOW (Reuters) - Russia said on Monday it would attend.", "Russia said on Monday it would attend."),
    ("WASHINGTON — The Senate voted late on Friday.", "The Senate voted late on Friday."),
    ("LOS ANGELES, Calif. (AP) — Fires spread.", "Fires spread."),
    ("US officials - not named - said so.", "US officials - not named - said so."),
])
def test_datelines_go(text: str, out: str) -> None:
    assert clean(text) == out


def test_reporters_go_and_what_they_report_stays() -> None:
    out = clean("Mr Putin's letter, the BBC's Nick Bryant in New York says, was read out. "
                "CNN's Jake Tapper asked about it. BBC correspondent Ann Lee said Russia agreed. "
                "Jeremy Bowen, the BBC's Middle East editor, says Syria will sign.")
    for reporter in ("Nick Bryant", "Jake Tapper", "Ann Lee", "Jeremy Bowen", "New York"):
        assert reporter not in out, (reporter, out)
    for story in ("Mr Putin's letter", "was read out", "Russia agreed", "Syria will sign"):
        assert story in out, (story, out)
