"""The desk's languages: every message a person reads goes through :func:`_` (or :func:`ngettext`).

English is the source language: a message's English text is its key in the catalog, and
``rsad/i18n/locales/<lang>/LC_MESSAGES/rsad.po`` holds its translation (Babel/gettext;
``python -m rsad.i18n.catalog update`` refreshes it from the source, ``check`` lists what is
missing). Which language applies, first match wins:

1. :func:`use_language` (the CLI, tests, a background job started for one user);
2. the resolver the UI registers with :func:`set_resolver` (the pages read the signed-in
   user's choice from the browser session);
3. the ``RSAD_LANG`` variable (the server's default, also before anyone signs in);
4. English.

Messages with values are written with named fields, translated first and filled after:
``_("Batch {name} is scored.").format(name=name)``, so a translation may move the fields.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from rsad.i18n.languages import LANGUAGES, SOURCE

__all__ = ["LANGUAGES", "SOURCE", "N_", "_", "default_language", "language", "ngettext", "normalize",
           "pgettext", "set_resolver", "use_language"]

_chosen: ContextVar[str | None] = ContextVar("rsad_language", default=None)
_resolver: Callable[[], str | None] | None = None


def normalize(code: str | None) -> str | None:
    """'zh_CN', 'zh-Hans', 'ZH' -> 'zh'; 'en_US.UTF-8' -> 'en'; a language the desk lacks -> None."""
    if not code:
        return None
    base = code.strip().split(".")[0].replace("-", "_").split("_")[0].lower()
    return base if base in LANGUAGES else None


def default_language() -> str:
    """The server's language: ``RSAD_LANG`` when it names one the desk has, else English."""
    return normalize(os.environ.get("RSAD_LANG")) or SOURCE


def language() -> str:
    """The language messages are translated into right now."""
    chosen = _chosen.get()
    if chosen:
        return chosen
    if _resolver is not None:
        resolved = normalize(_resolver())
        if resolved:
            return resolved
    return default_language()


def set_resolver(resolver: Callable[[], str | None] | None) -> None:
    """Let the UI say which language applies in the current request (None: it has no say)."""
    global _resolver
    _resolver = resolver


@contextmanager
def use_language(code: str | None) -> Iterator[str]:
    """Translate into ``code`` inside the block (None or an unknown code: the usual order)."""
    token = _chosen.set(normalize(code))
    try:
        yield language()
    finally:
        _chosen.reset(token)


def _(message: str) -> str:
    """``message`` (English, the catalog key) in the current language; itself when untranslated."""
    if not message:
        return message
    lang = language()
    if lang == SOURCE:
        return message
    from rsad.i18n.catalog import translations

    return translations(lang).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n``, in the current language (Chinese has one form)."""
    lang = language()
    if lang == SOURCE:
        return singular if n == 1 else plural
    from rsad.i18n.catalog import translations

    return translations(lang).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` where one English word needs two translations ("Score": the verb on a button,
    the noun over a column); ``context`` tells the catalog which."""
    lang = language()
    if lang == SOURCE:
        return message
    from rsad.i18n.catalog import translations

    return translations(lang).pgettext(context, message)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for it
    """Mark ``message`` for the catalog without translating it now (a constant translated where shown)."""
    return message
