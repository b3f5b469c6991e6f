"""The language each user reads the desk in, remembered in the store like their project."""

from __future__ import annotations

from rsad.auth.prefs import get_pref, set_pref
from rsad.data.db import Store
from rsad.errors import InputError
from rsad.i18n import LANGUAGES, _, default_language, normalize

__all__ = ["LANGUAGES", "language_of", "remember_language"]

LANGUAGE_PREF = "language"


def language_of(store: Store, user_name: str) -> str:
    """This user's language (their last choice), else the server's (``RSAD_LANG``, else English)."""
    remembered = normalize(get_pref(store, user_name, LANGUAGE_PREF)) if user_name else None
    return remembered or default_language()


def remember_language(store: Store, user_name: str, code: str) -> str:
    """Switch this user to language ``code`` ('en', 'zh'); returns the code kept."""
    lang = normalize(code)
    if lang is None:
        raise InputError(_("No language {code!r}: choose one of {choices}.").format(
            code=code, choices=", ".join(LANGUAGES)))
    if user_name:
        set_pref(store, user_name, LANGUAGE_PREF, lang)
    return lang
