"""Columns and label values under other names: which column is the text, the label, the id when
a file does not use rsad's own names, and which label values mean anomaly.

Names match case-insensitively (``Label``, ``TEXT``). Label values match case-insensitively after
trimming spaces, in pairs (``spam``/``ham``, ``CG``/``OR``: a computer-generated fake review is an
anomaly). A column whose values are all unknown asks the user (:class:`LabelValuesUnknown`).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rsad.data.reading import _rows
from rsad.errors import InputError, LabelValuesUnknown
from rsad.i18n import _

DEFAULT_TEXT, DEFAULT_LABEL, DEFAULT_ID = "behavior_description", "is_anomaly", "case_id"
# Chinese platforms' exports name their columns in Chinese: those headers are recognised too.
TEXT_NAMES = (DEFAULT_TEXT, "text", "message", "review", "content", "comment", "sms", "body",
              "description", "behavior", "行为描述", "文本", "内容", "评论", "评论内容", "描述", "消息", "正文", "短信")
LABEL_NAMES = (DEFAULT_LABEL, "label", "class", "target", "is_spam", "spam", "fraud", "is_fraud",
               "deceptive", "y", "是否异常", "标签", "标注", "异常", "是否刷单", "是否作弊", "是否垃圾", "类别")
ID_NAMES = (DEFAULT_ID, "id", "msg_id", "message_id", "sms_id", "review_id", "record_id", "row_id",
            "案例编号", "编号", "记录编号", "评论编号")
# (anomaly, normal) spellings.
LABEL_PAIRS = (("1", "0"), ("true", "false"), ("yes", "no"), ("anomaly", "normal"), ("spam", "ham"),
               ("fake", "real"), ("deceptive", "truthful"), ("fraud", "legit"), ("cg", "or"), ("1.0", "0.0"),
               ("是", "否"), ("异常", "正常"), ("虚假", "真实"), ("刷单", "正常"), ("垃圾", "正常"), ("作弊", "正常"))
ANOMALY_VALUES = frozenset(a for a, _ in LABEL_PAIRS)
NORMAL_VALUES = frozenset(n for _, n in LABEL_PAIRS)
# What people write for "no readable label": such a row is skipped (tolerant) rather than being
# taken for a third label value, which is an error naming its rows.
UNREADABLE = frozenset({"?", "??", "???", "-", "--", "n/a", "na", "#n/a", "none", "null", "unknown", "missing",
                        "？", "未知", "不确定", "待定"})


@dataclass(frozen=True)
class ColumnMap:
    """Which columns hold the text, the label and the id (None: the file has no such column)."""

    text: str = DEFAULT_TEXT
    label: str | None = DEFAULT_LABEL
    id: str | None = DEFAULT_ID
    # Label values that mean anomaly (any case); every other value of the column means normal.
    anomaly_values: tuple[str, ...] = ()


def candidates(found: list[str], names: tuple[str, ...]) -> list[str]:
    """The columns of ``found`` named one of ``names`` in any case, in ``names``' order."""
    by_key = {str(c).strip().lower(): c for c in found}
    return [by_key[n] for n in names if n in by_key]


def _key(value: Any, strict: bool) -> str | None:
    """The value as a label key (trimmed, lower case); None: blank, an unlabeled row."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    key = str(value).strip().lower()
    # A "NaN" cell is an empty one written by a program; strict keeps refusing it as before.
    return None if key == "" or (key == "nan" and not strict) else key


def _spelled(values: list[Any], keys: list[str | None]) -> dict[str, str]:
    """Each key as first written in the file."""
    out: dict[str, str] = {}
    for value, key in zip(values, keys):
        if key is not None and key not in out:
            out[key] = str(value).strip()
    return out


def _mapped(keys: list[str | None], spelled: dict[str, str], anomaly_values: tuple[str, ...],
            column: str, file_name: str, numbers: list[int]) -> dict[str, int]:
    """key -> 0/1 under the user's mapping; a value neither chosen nor the one other is an error."""
    chosen = {str(v).strip().lower() for v in anomaly_values if str(v).strip()}
    missing = sorted(chosen - set(spelled))
    if missing:
        raise InputError(_("{file_name}: the anomaly value(s) {missing} are not in column {column!r} (its "
                           "values: {spelled}).").format(file_name=file_name, missing=', '.join(map(repr, missing)),
                                                         column=column,
                                                         spelled=', '.join(map(repr, spelled.values()))))
    rest = [k for k in spelled if k not in chosen]
    normal = set(rest) if len(rest) <= 1 else {k for k in rest if k in NORMAL_VALUES}
    third = [k for k in rest if k not in normal] if normal else rest
    if third:
        rows = [n for n, k in zip(numbers, keys) if k in third]
        raise InputError(
            _("{file_name}: column {column!r} has more values than the anomaly value(s) and one normal value: "
              "{values} at {rows} (data rows, 1 = the first under the "
              "header). Add them to --anomaly-values (or the choice on Upload), or remove those rows.").format(
                file_name=file_name, column=column, values=", ".join(repr(spelled[k]) for k in third),
                rows=_rows(rows)))
    return {k: int(k in chosen) for k in spelled}


def _known(keys: list[str | None], spelled: dict[str, str], column: str, file_name: str, numbers: list[int],
           strict: bool) -> dict[str, int]:
    """key -> 0/1 for a column mapped by the recognised spellings alone. Two values that are not
    both recognised (spam / not spam, 1 / -1) are the user's to map: LabelValuesUnknown. Beside
    recognised values, a value like '?' is unreadable (its rows are skipped); any other is a
    third value, an error naming its rows."""
    mapping = {k: int(k in ANOMALY_VALUES) for k in spelled if k in ANOMALY_VALUES | NORMAL_VALUES}
    values = [k for k in spelled if strict or k not in UNREADABLE]
    unknown = [k for k in values if k not in mapping]
    if unknown and len(values) <= 2:
        raise LabelValuesUnknown(column, tuple(spelled[k] for k in values), file_name)
    if unknown and not mapping:
        raise InputError(_("{file_name}: column {column!r} has {n} different values "
                           "({values}…), not labels. Pick the label "
                           "column (--label-col, or the mapping on Upload), or none.").format(
                             file_name=file_name, column=column, n=len(unknown),
                             values=", ".join(repr(spelled[k]) for k in unknown[:5])))
    if unknown:
        rows = [n for n, k in zip(numbers, keys) if k in unknown]
        raise InputError(
            _("{file_name}: column {column!r} holds {known} and also "
              "{values} at {rows} (data rows, 1 = the first under "
              "the header). Say which values mean anomaly (--anomaly-values, or the choice on Upload), or remove "
              "those rows.").format(file_name=file_name, column=column,
                                    known=describe_map(_used(column, spelled, mapping)),
                                    values=", ".join(repr(spelled[k]) for k in unknown[:5]), rows=_rows(rows)))
    return mapping


def _used(column: str, spelled: dict[str, str], mapping: dict[str, int]) -> dict[str, Any]:
    return {"column": column, "anomaly": [spelled[k] for k, v in mapping.items() if v == 1],
            "normal": [spelled[k] for k, v in mapping.items() if v == 0]}


def map_labels(values: pd.Series, column: str, *, anomaly_values: tuple[str, ...] = (), strict: bool = False,
               file_name: str = "upload", numbers: list[int] | None = None,
               ) -> tuple[list[int | None], list[int], dict[str, Any]]:
    """(labels, positions of unreadable labels, the label map used) of one label column.

    Recognised pairs map by themselves; ``anomaly_values`` maps those values to 1 and the one
    other value to 0. A column of only unknown values raises :class:`LabelValuesUnknown` (one
    or two values) or :class:`InputError`; an unknown value beside known ones is unreadable.
    """
    raw = values.tolist()
    numbers = numbers or list(range(1, len(raw) + 1))
    keys = [_key(v, strict) for v in raw]
    spelled = _spelled(raw, keys)
    if anomaly_values:
        mapping = _mapped(keys, spelled, anomaly_values, column, file_name, numbers)
    else:
        mapping = _known(keys, spelled, column, file_name, numbers, strict)
    labels = [None if k is None else mapping.get(k) for k in keys]
    bad = [i for i, k in enumerate(keys) if k is not None and k not in mapping]
    return labels, bad, _used(column, spelled, mapping)


def is_label_column(values: pd.Series) -> bool:
    """Whether a column guessed by its name holds labels: only recognised values (and unreadable
    ones), at most two values (the user maps them), or a recognised pair with fewer other values
    than recognised ones (spam/ham/maybe: a label column with a value to fix, an error naming its
    rows). A 'y' of 0-9 or a 'class' of many names is metadata."""
    keys = {k for v in values.tolist() if (k := _key(v, False)) is not None} - UNREADABLE
    known = keys & (ANOMALY_VALUES | NORMAL_VALUES)
    pair = bool(known & ANOMALY_VALUES) and bool(known & NORMAL_VALUES)
    return keys == known or len(keys) <= 2 or (pair and len(keys - known) < len(known))


def describe_map(label_map: dict[str, Any] | None) -> str:
    """'spam → anomaly, ham → normal' for a caption or a CLI line."""
    if not label_map:
        return ""
    parts = ([_("{value} → anomaly").format(value=v) for v in label_map["anomaly"]]
             + [_("{value} → normal").format(value=v) for v in label_map["normal"]])
    return ", ".join(parts)


def _did_you_mean(wanted: str, found: list[str]) -> str:
    """' Did you mean 'Behavior Description'?' when a column differs only in spelling or case."""
    norm = {"".join(ch for ch in c.lower() if ch.isalnum()): c for c in found}
    key = "".join(ch for ch in wanted.lower() if ch.isalnum())
    close = difflib.get_close_matches(key, list(norm), n=1, cutoff=0.75)
    return _(" Did you mean {column!r}?").format(column=norm[close[0]]) if close else ""


def text_column(found: list[str], columns: ColumnMap, file_name: str) -> str:
    if columns.text in found:
        return columns.text
    maybe = candidates(found, TEXT_NAMES) if columns.text == DEFAULT_TEXT else []
    if len(maybe) == 1:
        return maybe[0]
    hint = (_(" Several columns could hold it ({columns}).").format(columns=", ".join(map(repr, maybe))) if maybe
            else _did_you_mean(columns.text, found))
    raise InputError(_("{file_name} has no text column {text!r}. Columns found: {found}.{hint} Pick the text "
                       "column (--text-col, or the mapping on Upload).").format(
                         file_name=file_name, text=columns.text, found=', '.join(map(repr, found)), hint=hint))


def label_column(df: pd.DataFrame, columns: ColumnMap, text: str, file_name: str) -> str | None:
    if columns.label is None or columns.label in df.columns:
        return columns.label
    if columns.label != DEFAULT_LABEL:
        return None  # a named label column the file lacks: unlabeled, as before
    # A column guessed by its name holds labels, or is metadata (a 'class' of many values).
    maybe = [c for c in candidates(list(df.columns), LABEL_NAMES)
             if c != text and (columns.anomaly_values or is_label_column(df[c]))]
    if len(maybe) > 1:
        raise InputError(_("{file_name}: several columns could be the label ({maybe}). Pick one (--label-col, or "
                           "the mapping on Upload).").format(file_name=file_name, maybe=', '.join(map(repr, maybe))))
    return maybe[0] if maybe else None


def id_column(found: list[str], columns: ColumnMap, taken: set[str | None]) -> tuple[str | None, bool]:
    """(the id column, whether it was guessed by its name)."""
    if columns.id is None or columns.id in found:
        return columns.id, False
    maybe = [c for c in candidates(found, ID_NAMES) if c not in taken] if columns.id == DEFAULT_ID else []
    return (maybe[0], True) if len(maybe) == 1 else (None, False)
