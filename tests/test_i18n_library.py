"""The library speaks the chosen language: errors a person reads (a bad upload, a bad setting)
come out in Chinese under ``use_language("zh")`` and unchanged in English otherwise."""

from __future__ import annotations

import re

import pytest

from rsad.config import get_settings
from rsad.data.reading import read_table
from rsad.data.rowcheck import no_usable_rows
from rsad.errors import ConfigError, InputError, LabelValuesUnknown
from rsad.i18n import use_language

pytestmark = pytest.mark.unit
HAN = re.compile(r"[\u4e00-\u9fff]")


def _message(fn) -> str:
    with pytest.raises((InputError, ConfigError)) as err:
        fn()
    return str(err.value)


def test_a_bad_upload_reads_in_the_chosen_language(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("RSAD_LANG", raising=False)
    bad = lambda: read_table(b"\xff\xfeh\x00i\x00", "cases.csv")  # noqa: E731 - UTF-16 bytes
    english = _message(bad)
    assert english.startswith("cases.csv is UTF-16 text; rsad reads UTF-8. Save it as CSV UTF-8")
    with use_language("zh"):
        chinese = _message(bad)
    assert chinese.startswith("cases.csv 是 UTF-16 文本") and "另存为 CSV UTF-8" in chinese
    assert _message(bad) == english  # the block ends, English again


def test_a_bad_setting_and_a_plural_read_in_the_chosen_language(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("RSAD_LANG", raising=False)
    bad = lambda: get_settings({"RSAD_DEVICE": "tpu"})  # noqa: E731
    assert _message(bad) == "RSAD_DEVICE='tpu': use auto, cpu, cuda, cuda:N or mps."
    with use_language("zh"):
        assert _message(bad) == "RSAD_DEVICE='tpu'：请使用 auto、cpu、cuda、cuda:N 或 mps。"
        skipped = [{"reason": "r"}] * 2
        assert str(no_usable_rows("a.csv", skipped)) == "a.csv：没有可用的行，所有行都会被跳过：r（2 行）。"
        assert HAN.search(str(LabelValuesUnknown("label", ("pos", "neg"))))
    assert str(no_usable_rows("a.csv", [{"reason": "r"}])) == (
        "a.csv: no usable rows, every row would be skipped: r (1 row).")
