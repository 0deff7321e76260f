"""French and English: the catalogs (`i18n/<lang>.json`, flat keys) and the language of a request.

The language comes from `?lang=` (which the switch links use, and which is remembered in a cookie), then
the cookie, then the browser's Accept-Language; French when nothing matches (the cooperative starts in
Lyon). Keys starting `js.` are handed to the page's scripts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
COOKIE = "coopride_lang"
CATALOG_DIR = Path(__file__).resolve().parent / "i18n"


@lru_cache(maxsize=len(LANGUAGES))
def catalog(lang: str) -> dict[str, str]:
    return cast(dict[str, str], json.loads((CATALOG_DIR / f"{lang}.json").read_text(encoding="utf-8")))


def js_messages(lang: str) -> dict[str, str]:
    return {key: text for key, text in catalog(lang).items() if key.startswith(("js.", "nav."))}


def translator(lang: str) -> Callable[..., str]:
    messages = catalog(lang)

    def t(key: str, **values: Any) -> str:
        text = messages.get(key)
        if text is None:
            return f"⟦{key}⟧"  # visible, and caught by the tests
        return text.format(**values) if values else text

    return t


def from_accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most, by q-value then order."""
    if not header:
        return None
    ranked = []
    for position, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else None


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return from_accept_language(accept_language) or DEFAULT_LANGUAGE
