"""The translation catalogs: loading them at run time, and keeping them in step with the source.

    python -m rsad.i18n.catalog check     # messages in one language only (exit 1 when any)
    python -m rsad.i18n.catalog update    # add new source messages (untranslated), drop gone ones
    python -m rsad.i18n.catalog part NAME FILE...   # parts/NAME.po: FILE's untranslated messages, to fill in

A message is in the catalog when the source passes it, as a literal, to ``_``, ``ngettext`` or
``N_`` (Babel's extractor reads the source; nothing is registered by hand).
"""

from __future__ import annotations

import gettext
import io
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rsad.i18n.languages import LANGUAGES, SOURCE

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "rsad"
ROOT = Path(__file__).resolve().parents[2]  # the source tree (check/update are for developers)
KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None, "pgettext": ((1, "c"), 2)}
FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)?(?:[:!][^{}]*)?\}")  # {name}, {n:,}, {x!r}, {}


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def part_paths(lang: str) -> list[Path]:
    """Translations written on a branch beside the catalog (``parts/*.po``); ``update`` folds them in."""
    return sorted((po_path(lang).parent / "parts").glob("*.po"))


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang``, compiled in memory from its .po files (no build step to forget)."""
    from babel.messages.mofile import write_mo

    catalog = _read(lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def source_files(root: Path = ROOT) -> list[Path]:
    """Where the desk's messages live: the library, the pages and the entry points."""
    files = [p for p in (root / "rsad").rglob("*.py") if "migrations" not in p.parts]
    files += sorted((root / "views").glob("*.py")) + [root / "app.py", root / "serve.py"]
    return sorted(p for p in files if p.exists())


@dataclass(frozen=True)
class Message:
    key: str | tuple[str, str]  # the English text (singular, plural for ngettext)
    where: tuple[tuple[str, int], ...]
    context: str | None = None  # pgettext's: one English word that needs two translations (a verb, a noun)

    @property
    def id(self) -> str:
        return self.key if isinstance(self.key, str) else self.key[0]


def extract(root: Path = ROOT) -> dict[tuple[str | tuple[str, str], str | None], Message]:
    """Every message the source passes to ``_``/``ngettext``/``N_``/``pgettext``, with where it is."""
    from babel.messages.extract import extract_from_file

    found: dict[tuple[str | tuple[str, str], str | None], list[tuple[str, int]]] = {}
    for path in source_files(root):
        rel = path.relative_to(root).as_posix()
        for lineno, text, _comments, context in extract_from_file("python", path, keywords=KEYWORDS):
            key = text if isinstance(text, str) else tuple(text[:2])
            if key and all(key):
                found.setdefault((key, context), []).append((rel, lineno))
    return {k: Message(k[0], tuple(v), k[1]) for k, v in found.items()}


def fields(text: str) -> set[str]:
    return {m.group(0) for m in FIELD.finditer(text)}


def _read(lang: str):  # noqa: ANN202 - babel's Catalog, imported lazily
    """``lang``'s catalog with its parts folded in (a part's translation wins over an empty one)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    path = po_path(lang)
    catalog = Catalog(locale=lang, domain=DOMAIN)
    if path.exists():
        with path.open("rb") as f:
            catalog = read_po(f, locale=lang)
    for part in part_paths(lang):
        with part.open("rb") as f:
            for msg in read_po(f, locale=lang):
                if msg.id and (msg.string if isinstance(msg.string, str) else all(msg.string)):
                    catalog[msg.id] = msg
    return catalog


def problems(lang: str, root: Path = ROOT) -> list[str]:
    """What keeps ``lang`` from matching the source one to one: each a line a developer can act on."""
    catalog, source = _read(lang), extract(root)
    out = []
    for (key, context), msg in source.items():
        where = f"{msg.where[0][0]}:{msg.where[0][1]}"
        entry = catalog.get(msg.id, context=context)
        strings = [] if entry is None else ([entry.string] if isinstance(entry.string, str) else list(entry.string))
        if entry is None or not all(strings) or entry.fuzzy:
            out.append(f"{where}: no {lang} translation of {key!r}")
            continue
        wanted = fields(key if isinstance(key, str) else key[1])
        for s in strings:
            if fields(s) != wanted:
                out.append(f"{where}: {lang} translation of {key!r} has fields {sorted(fields(s))}, "
                           f"the English has {sorted(wanted)}")
    keys = {(m.id, m.context) for m in source.values()}
    out += [f"{po_path(lang).name}: {lang} only (not in the source): {m.id!r}" for m in catalog
            if m.id and (m.id if isinstance(m.id, str) else m.id[0], m.context) not in keys]
    return out


def update(lang: str, root: Path = ROOT) -> tuple[int, int]:
    """Rewrite ``lang``'s .po (sorted, no line numbers: a stable diff): keep translations, fold the
    parts in and delete them, add new messages empty, drop gone ones. Returns (messages, untranslated)."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    old = _read(lang)
    new = Catalog(locale=lang, domain=DOMAIN, project="RSAD Review Desk", fuzzy=False,
                  header_comment=f"# {LANGUAGES[lang]} translations of RSAD Review Desk's messages.",
                  creation_date=old.creation_date, revision_date=old.creation_date)
    missing = 0
    for (key, context), msg in extract(root).items():
        prior = old.get(msg.id, context=context)
        string = prior.string if prior is not None and not prior.fuzzy else ("" if isinstance(key, str) else ("",))
        missing += not (string if isinstance(string, str) else all(string))
        new.add(key, string, locations=msg.where, context=context)
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, new, width=100, no_location=True, sort_output=True, include_previous=False)
    for part in part_paths(lang):
        part.unlink()
    translations.cache_clear()
    return len(new), missing


def part(lang: str, name: str, files: list[str], root: Path = ROOT) -> tuple[Path, int]:
    """Write ``parts/NAME.po`` with the messages of ``files`` that ``lang`` lacks (kept: what the
    part already translates). A branch translates there, away from the shared catalog."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    wanted = {Path(f).resolve() for f in files}
    have = _read(lang)
    path = po_path(lang).parent / "parts" / f"{name}.po"
    out = Catalog(locale=lang, domain=DOMAIN, fuzzy=False)
    for (key, context), msg in extract(root).items():
        if not any((root / w).resolve() in wanted for w, _line in msg.where):
            continue
        prior = have.get(msg.id, context=context)
        done = prior is not None and not prior.fuzzy and (
            prior.string if isinstance(prior.string, str) else all(prior.string))
        if not done or path.exists() and prior is not None:
            out.add(key, prior.string if done else ("" if isinstance(key, str) else ("",)), locations=msg.where,
                    context=context)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, out, width=100, include_previous=False, omit_header=False)
    return path, sum(1 for m in out if m.id and not (m.string if isinstance(m.string, str) else all(m.string)))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    langs = [code for code in LANGUAGES if code != SOURCE]
    if args[:1] == ["update"]:
        for lang in langs:
            total, missing = update(lang)
            print(f"{po_path(lang)}: {total} messages, {missing} to translate")
        return 0
    if args[:1] == ["part"] and len(args) >= 3:
        for lang in langs:
            path, empty = part(lang, args[1], args[2:])
            print(f"{path}: {empty} messages to translate (fill in each msgstr)")
        return 0
    if args[:1] == ["check"]:
        found = [p for lang in langs for p in problems(lang)]
        print("\n".join(found) or "Every message exists in every language.")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
