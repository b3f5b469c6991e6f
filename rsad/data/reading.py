"""A batch file's bytes to a table of its own columns, or an InputError saying what to fix.

Only reading happens here (format, encoding, separators, quoting, JSON shape); what the
columns must hold is checked by :mod:`rsad.data.ingest`. CSV and TSV go through the standard
``csv`` module rather than pandas because pandas quietly mends broken files: a row with one
field too many turns the first column into the index, a short row is padded with blanks.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from rsad.data.csvsafe import unguard
from rsad.errors import InputError
from rsad.i18n import N_, _, ngettext

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "tsv", ".jsonl": "jsonl",
           ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}
_SAVE_AS = N_("Save it as CSV UTF-8 (in Excel: File > Save As > 'CSV UTF-8') and upload that")
_BOM = "\ufeff"
_SURROGATE = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, decoded with surrogateescape


def _rows(positions: list[int], limit: int = 10) -> str:
    """'rows 3, 7 and 2 more' from 1-based row numbers."""
    nums = [str(p) for p in positions]
    more = _(" and {n} more").format(n=len(nums) - limit) if len(nums) > limit else ""
    return ngettext("row {rows}{more}", "rows {rows}{more}", len(nums)).format(rows=", ".join(nums[:limit]), more=more)


def file_format(file_name: str) -> str:
    suffix = Path(file_name).suffix.lower()
    if suffix not in FORMATS:
        hint = " " + _(_SAVE_AS) + "." if suffix in {".xls", ".xlsx", ".xlsm", ".ods", ".numbers"} else ""
        raise InputError(
            _("{file_name}: unsupported file type {suffix!r}. "
              "Upload CSV (.csv), TSV (.tsv), JSON Lines (.jsonl) or Parquet (.parquet).{hint}").format(
                file_name=file_name, suffix=suffix or _("(none)"), hint=hint)
        )
    return FORMATS[suffix]


def _undecodable_lines(text: str) -> tuple[bool, int]:
    """(whether the header has bytes that are not UTF-8, how many data lines are wholly fine)."""
    lines = text.split("\n")
    has_bad = [bool(_SURROGATE.search(line)) for line in lines]
    fine = sum(1 for line, bad in zip(lines[1:], has_bad[1:]) if line.strip() and not bad)
    return has_bad[0], fine


def _decode(data: bytes, file_name: str, strict: bool = True) -> str:
    """The text of the file. Not ``strict``: bytes that are not UTF-8 in some rows come out as lone
    surrogates, for ingest to skip those rows; a header or every row in another encoding is refused."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(_("{file_name} is UTF-16 text; rsad reads UTF-8. {SAVE_AS}.").format(
                             file_name=file_name, SAVE_AS=_(_SAVE_AS)))
    if data[:4] == b"PK\x03\x04":
        raise InputError(_("{file_name} is a zip archive or an Excel workbook, not a text file. {SAVE_AS}.").format(
                             file_name=file_name, SAVE_AS=_(_SAVE_AS)))
    if b"\x00" in data[:4096]:
        raise InputError(_("{file_name} looks binary, not text: check that you picked the right file (a UTF-16 "
                           "text must be saved as UTF-8 first).").format(file_name=file_name))
    try:
        text = data.decode("utf-8-sig")  # -sig: Excel writes a byte-order mark
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        if not strict:
            text = data.decode("utf-8-sig", errors="surrogateescape")
            bad_header, fine = _undecodable_lines(text)
            if not bad_header and fine:
                return text
        raise InputError(
            _("{file_name} is not UTF-8 (bad byte at line {line}). {SAVE_AS} again (other encodings such as "
              "Latin-1 or GBK look the same in a text editor).").format(file_name=file_name, line=line,
                                                                        SAVE_AS=_(_SAVE_AS))
        ) from None
    return _no_nul(text, file_name) if strict else text  # not strict: ingest skips the rows with a NUL


def _no_nul(text: str, file_name: str) -> str:
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(_("{file_name} has a NUL character (\\x00) at line {line}: remove it (a text file never "
                           "needs one, and PostgreSQL cannot store it).").format(file_name=file_name, line=line))
    return text


def _no_constants(name: str) -> None:
    raise ValueError(_("{name} is not valid JSON; use null for a missing value").format(name=name))


def _json_loads(text: str) -> Any:
    # NaN/Infinity are Python extensions to JSON: a NaN label would silently mean "unlabeled".
    return json.loads(text, parse_constant=_no_constants)


def _read_jsonl(text: str, file_name: str) -> pd.DataFrame:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = _json_loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(_("{file_name}, line {number}: not valid JSON ({msg}). Each line must be one "
                               "complete JSON object.").format(file_name=file_name, number=number,
                                                               msg=exc.msg)) from None
        except ValueError as exc:
            raise InputError(_("{file_name}, line {number}: {exc}.").format(file_name=file_name, number=number,
                                                                            exc=exc)) from None
        if not isinstance(obj, dict):
            raise InputError(_("{file_name}, line {number}: each line must be a JSON object {{...}}, "
                               "not {kind}.").format(file_name=file_name, number=number, kind=type(obj).__name__))
        records.append(obj)
    return pd.DataFrame.from_records(records)


def _read_json(text: str, file_name: str) -> pd.DataFrame:
    """A JSON array of objects, or JSON Lines saved as .json."""
    try:
        whole = _json_loads(text)
    except ValueError:
        return _read_jsonl(text, file_name)  # several documents: JSON Lines
    if isinstance(whole, dict):
        nested = [k for k, v in whole.items() if isinstance(v, list | dict)]
        where = _(" (the records may be under {key!r})").format(key=nested[0]) if nested else ""
        raise InputError(_("{file_name} is one JSON object{where}. Give the cases as a JSON array of flat "
                           "objects [{{...}}, {{...}}] or as JSON Lines (one object per line).").format(
                             file_name=file_name, where=where))
    if not isinstance(whole, list) or not all(isinstance(r, dict) for r in whole):
        raise InputError(_("{file_name} must be a JSON array of objects [{{...}}, {{...}}], one object per case "
                           "with named fields; arrays of arrays or of plain values have no column names.").format(
                             file_name=file_name))
    return pd.DataFrame.from_records(whole)


def _read_delimited(text: str, file_name: str, sep: str) -> pd.DataFrame:
    csv.field_size_limit(2**31 - 1)  # long texts get a clear error from ingest, not "field larger than"
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True) if r]
    except csv.Error as exc:
        raise InputError(_("{file_name}: the file cannot be split into fields ({exc}). Check the quoting: a text "
                           "that contains the separator or a line break must be inside \"double quotes\", and a "
                           "quote inside a text is written twice (\"\").").format(
                             file_name=file_name, exc=exc)) from None
    if not rows:
        raise InputError(_("{file_name} is empty.").format(file_name=file_name))
    header = [unguard(h.lstrip(_BOM).strip()) for h in rows[0]]
    kind = {",": N_("comma"), "\t": N_("tab")}[sep]
    if len(header) == 1:
        for other, what, ext in (("\t", N_("tabs"), ".tsv"), (";", N_("semicolons"), None),
                                 (",", N_("commas"), ".csv")):
            if other != sep and other in header[0]:
                fix = (_("rename it to {ext}").format(ext=ext) if ext else _(
                    "save it {kind}-separated (in Excel: 'CSV UTF-8', which uses commas)").format(kind=_(kind)))
                raise InputError(_("{file_name}: the header is one column {header!r} separated by {what}, but a "
                                   "{suffix} file is {kind}-separated: {fix}.").format(
                                     file_name=file_name, header=header[0], what=_(what), suffix=Path(file_name).suffix,
                                     kind=_(kind), fix=fix))
    dups = sorted({h for h in header if header.count(h) > 1})
    if dups:
        raise InputError(_("{file_name}: the header names column(s) {dups} more than once. Give every column its "
                           "own name.").format(file_name=file_name, dups=', '.join(map(repr, dups))))
    ragged = [i for i, r in enumerate(rows[1:], start=1) if len(r) != len(header)]
    if ragged:
        counts = sorted({len(rows[i]) for i in ragged})
        raise InputError(
            ngettext("{file_name}: {rows} has {counts} fields, the header has {n}. Check the quoting: a text "
                     "containing a {kind} must be inside \"double quotes\".",
                     "{file_name}: {rows} have {counts} fields, the header has {n}. Check the quoting: a text "
                     "containing a {kind} must be inside \"double quotes\".", len(ragged)).format(
                file_name=file_name, rows=_rows(ragged), counts="/".join(map(str, counts)), n=len(header),
                kind=_(kind))
        )
    first = header[0]
    repeats = [i for i, r in enumerate(rows[1:], start=1)
               if r[0].lstrip(_BOM).strip() == first and [c.lstrip(_BOM).strip() for c in r] == header]
    if repeats:
        raise InputError(ngettext("{file_name}: {rows} repeats the header line (files pasted together?). Delete it.",
                                  "{file_name}: {rows} repeat the header line (files pasted together?). Delete them.",
                                  len(repeats)).format(file_name=file_name, rows=_rows(repeats)))
    # Undo the quote rsad's own CSV exports put before cells that would start a formula.
    df = pd.DataFrame([[unguard(c) for c in r] for r in rows[1:]], columns=header, dtype=object)
    return df.mask(df == "")  # empty cells are missing values, as pandas' reader would have them


def read_table(data: bytes, file_name: str, *, max_bytes: int | None = None, strict: bool = True) -> pd.DataFrame:
    """Parse a file's bytes into a DataFrame of the file's own columns (values as read).

    ``strict=False`` reads a text file whose rows are UTF-8 but for a few bad bytes; those cells
    hold lone surrogates (see :mod:`rsad.data.rowcheck`), for ingest to skip their rows."""
    fmt = file_format(file_name)
    if max_bytes is not None and len(data) > max_bytes:
        raise InputError(
            _("{file_name} is {size:.1f} MB, over the {limit:.0f} MB limit "
              "(RSAD_MAX_UPLOAD_MB): split it into smaller batches.").format(
                file_name=file_name, size=len(data) / 2**20, limit=max_bytes / 2**20)
        )
    if not data.strip():
        raise InputError(_("{file_name} is empty.").format(file_name=file_name))
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            df = pq.read_table(io.BytesIO(data)).to_pandas()
        else:
            text = _decode(data, file_name, strict)
            if fmt == "jsonl":
                df = _read_jsonl(text, file_name)
            elif fmt == "json":
                df = _read_json(text, file_name)
            else:
                df = _read_delimited(text, file_name, "," if fmt == "csv" else "\t")
    except InputError:
        raise
    except (ValueError, TypeError, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if fmt != "parquet":
            raise InputError(_("{file_name} cannot be read as {fmt}: {first}").format(
                                 file_name=file_name, fmt=fmt.upper(), first=first)) from None
        raise InputError(_("{file_name} is not a valid Parquet file (is it truncated, or another format "
                           "renamed?): {first}").format(file_name=file_name, first=first)) from None
    if len(df.columns) == 0:
        raise InputError(_("{file_name} has no columns.").format(file_name=file_name))
    if len(df) == 0:
        raise InputError(_("{file_name} has a header but no data rows.").format(file_name=file_name))
    df.columns = [str(c).lstrip(_BOM).strip() for c in df.columns]
    return df
