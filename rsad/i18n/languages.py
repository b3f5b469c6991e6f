"""The languages the desk speaks (shared by the translator and the catalog tools)."""

from __future__ import annotations

LANGUAGES = {"en": "English", "zh": "中文"}  # code -> its own name, as the language switch shows it
SOURCE = "en"  # the messages are written in it; it is every catalog's key
