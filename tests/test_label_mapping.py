"""Label and text columns under common names, label value pairs, --anomaly-values, skipped rows
and their report (store, service CSV, CLI, Upload page)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import rsad.cli.main as cli
from conftest import sign_in
from rsad.data import uploads
from rsad.data.ingest import ColumnMap, load_batch, parse_labels
from rsad.data.labelmap import LABEL_NAMES, LABEL_PAIRS, TEXT_NAMES
from rsad.errors import InputError, LabelValuesUnknown
from rsad.service import batches

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _csv(rows: list[list[object]], header: list[str]) -> bytes:
    return pd.DataFrame(rows, columns=header).to_csv(index=False).encode()


def sms(n: int = 8) -> pd.DataFrame:
    return pd.DataFrame({"msg_id": [f"m{i}" for i in range(n)],
                         "message": [f"WIN a prize {i} now" if i % 2 else f"see you at {i}" for i in range(n)],
                         "label": ["spam" if i % 2 else "ham" for i in range(n)]})


@pytest.mark.parametrize("anomaly, normal", LABEL_PAIRS)
def test_every_value_pair_in_any_case_and_with_spaces(anomaly, normal):
    values = pd.Series([anomaly, normal, f"  {anomaly.upper()} ", normal.title(), "", None])
    assert parse_labels(values, "y") == [1, 0, 1, 0, None, None]


@pytest.mark.parametrize("name", LABEL_NAMES)
def test_every_label_column_name_in_any_case(name):
    for spelled in (name, name.upper()):
        b = load_batch(_csv([["a", "spam"], ["b", "ham"]], ["behavior_description", spelled]), file_name="x.csv")
        assert b.labels == [1, 0] and b.label_map == {"column": spelled, "anomaly": ["spam"], "normal": ["ham"]}
        assert b.meta == [{}, {}]


@pytest.mark.parametrize("name", TEXT_NAMES)
def test_every_text_column_name_in_any_case(name):
    b = load_batch(_csv([["a", "hello"], ["b", "bye"]], ["case_id", name.title()]), file_name="x.csv")
    assert b.texts == ["hello", "bye"] and b.ids == ["a", "b"] and b.labels == [None, None]


def test_id_columns_are_recognised_only_when_unambiguous_and_usable():
    b = load_batch(_csv([["m1", "hi"], ["m2", "yo"]], ["msg_id", "sms"]), file_name="x.csv")
    assert b.ids == ["m1", "m2"] and not b.generated_ids and b.meta == [{}, {}]
    two = load_batch(_csv([["1", "r1", "hi"], ["2", "r2", "yo"]], ["id", "review_id", "text"]), file_name="x.csv")
    assert two.generated_ids and two.meta[0] == {"id": "1", "review_id": "r1"}
    dup = load_batch(_csv([["1", "hi"], ["1", "yo"]], ["id", "text"]), file_name="x.csv")
    assert dup.generated_ids and dup.meta == [{"id": "1"}, {"id": "1"}]


def test_sms_file_recognised_and_mapped():
    b = load_batch(sms().to_csv(index=False).encode(), file_name="sms.csv")
    assert b.ids[:2] == ["m0", "m1"] and b.labels[:2] == [0, 1]
    assert b.label_map == {"column": "label", "anomaly": ["spam"], "normal": ["ham"]}


def test_a_chinese_platform_export_with_chinese_headers_and_values():
    rows = [["r1", "五星好评返现，加微信领红包", "是"], ["r2", "物流很快，包装完好", "否"],
            ["r3", "同一地址下单30次", "未知"]]
    b = load_batch(_csv(rows, ["编号", "评论内容", "是否刷单"]), file_name="导出.csv")
    assert b.ids == ["r1", "r2"] and b.texts[0].startswith("五星好评") and b.labels == [1, 0]
    assert b.label_map == {"column": "是否刷单", "anomaly": ["是"], "normal": ["否"]}
    assert [(r["row"], r["id"]) for r in b.skipped] == [(3, "r3")]


def test_cg_or_means_computer_generated_is_an_anomaly():
    b = load_batch(_csv([["great product", "CG"], ["it broke", "OR"]], ["text_", "label"]), file_name="x.csv",
                   columns=ColumnMap(text="text_"))
    assert b.labels == [1, 0]


def test_two_unknown_values_raise_the_specific_error():
    data = _csv([["a", "pos"], ["b", "neg"], ["c", "pos"]], ["text", "class"])
    with pytest.raises(LabelValuesUnknown) as info:
        load_batch(data, file_name="x.csv")
    assert info.value.column == "class" and info.value.values == ("pos", "neg")
    assert isinstance(info.value, InputError)
    assert "--anomaly-values" in str(info.value) and "Upload page" in str(info.value)
    b = load_batch(data, file_name="x.csv", columns=ColumnMap(anomaly_values=("NEG",)))
    assert b.labels == [0, 1, 0] and b.label_map == {"column": "class", "anomaly": ["neg"], "normal": ["pos"]}


def test_a_third_unmapped_value_is_an_error_naming_its_rows():
    data = _csv([["a", "pos"], ["b", "neg"], ["c", "meh"], ["d", "meh"]], ["text", "class"])
    with pytest.raises(InputError, match=r"'pos', 'meh' at rows 1, 3, 4"):
        load_batch(data, file_name="x.csv", columns=ColumnMap(anomaly_values=("neg",)))
    b = load_batch(data, file_name="x.csv", columns=ColumnMap(anomaly_values=("neg", "meh")))
    assert b.labels == [0, 1, 1, 1]
    with pytest.raises(InputError, match="'spam' are not in column 'class'"):
        load_batch(data, file_name="x.csv", columns=ColumnMap(anomaly_values=("spam",)))


def test_a_guessed_label_column_with_many_values_is_metadata():
    b = load_batch(_csv([["a", "x"], ["b", "y"], ["c", "z"]], ["text", "class"]), file_name="x.csv")
    assert b.labels == [None] * 3 and b.meta[0] == {"class": "x"} and b.label_map is None
    # A 'y' of digits 0-9 holds 0 and 1 among others: metadata too, not a label column that drops 8 rows.
    b = load_batch(_csv([[f"t{i}", i] for i in range(10)], ["text", "y"]), file_name="x.csv")
    assert b.labels == [None] * 10 and not b.skipped and b.meta[2] == {"y": "2"}


@pytest.mark.parametrize("pair", [("spam", "not spam"), ("1", "-1"), ("1", "2"), ("fraud", "ok")])
def test_two_values_not_both_recognised_are_asked_not_half_skipped(pair):
    data = _csv([["a", pair[0]], ["b", pair[1]], ["c", pair[1]]], ["text", "label"])
    with pytest.raises(LabelValuesUnknown) as info:
        load_batch(data, file_name="x.csv")
    assert info.value.values == pair
    b = load_batch(data, file_name="x.csv", columns=ColumnMap(anomaly_values=(pair[1],)))
    assert b.labels == [0, 1, 1] and not b.skipped


def test_beside_recognised_values_a_third_value_is_an_error_and_a_question_mark_is_skipped():
    data = _csv([["a", "spam"], ["b", "ham"], ["c", "maybe"], ["d", "maybe"]], ["text", "label"])
    with pytest.raises(InputError, match=r"spam → anomaly, ham → normal and also 'maybe' at rows 3, 4"):
        load_batch(data, file_name="x.csv")
    b = load_batch(_csv([["a", "spam"], ["b", "ham"], ["c", "?"], ["d", "N/A"]], ["text", "label"]),
                   file_name="x.csv")
    assert b.labels == [1, 0] and [r["row"] for r in b.skipped] == [3, 4]


def test_skipped_rows_empty_undecodable_bad_label_nul_and_long():
    data = (b"msg_id,message,label\nm1,hello,ham\nm2,,spam\nm3,caf\xe9 au lait,ham\nm4,win,??\n"
            b"m5,\xe4\xbd\xa0\xe5\xa5\xbd,spam\nm6,ok,\n" + b"m7," + b"x" * 50_001 + b",ham\n")
    b = load_batch(data, file_name="sms.csv")
    assert b.ids == ["m1", "m5", "m6"] and b.texts[1] == "你好" and b.labels == [0, 1, None]
    reasons = {r["row"]: (r["id"], r["reason"]) for r in b.skipped}
    assert set(reasons) == {2, 3, 4, 7} and b.rows_in_file == 7
    assert reasons[2] == ("m2", "empty text (blank, or only spaces and invisible characters)")
    assert reasons[3][1].startswith("not UTF-8: bad bytes in column 'message'")
    assert "label '??'" in reasons[4][1] and "over the 50,000 limit" in reasons[7][1]
    with pytest.raises(InputError, match="not UTF-8 \\(bad byte at line 4\\)"):
        load_batch(data, file_name="sms.csv", strict=True)
    nul = load_batch(b'{"text": "a\\u0000b"}\n{"text": "fine"}\n', file_name="x.jsonl")
    assert nul.texts == ["fine"]
    assert nul.skipped == [{"row": 1, "id": None, "reason": "NUL characters (\\x00) in the text"}]


def test_a_file_in_another_encoding_is_still_refused_whole():
    with pytest.raises(InputError, match="is not UTF-8 \\(bad byte at line 2\\)"):
        load_batch("text\ncafé\nnaïve\n".encode("latin-1"), file_name="x.csv")


def test_skipped_row_numbers_count_file_rows_after_a_split():
    data = b"text,split\na,test\n,train\nb,train\n"
    b = load_batch(data, file_name="x.csv", split=("split", "train"))
    assert b.texts == ["b"] and b.skipped[0]["row"] == 2


def test_report_stored_and_downloadable_with_formulas_guarded(store):
    data = b"msg_id,message,label\nm1,hello,ham\n=cmd,,spam\nm3,hi,??\n"
    info = uploads.ingest_file(store, data, file_name="s.csv", name="s")
    assert info["rows"] == 1 and info["skipped"] == 2 and [r["row"] for r in info["skipped_head"]] == [2, 3]
    report = batches.ingest_report(store, "s")
    assert report["rows_in_file"] == 3 and report["label_map"]["anomaly"] == ["spam"]
    table = batches.skipped_rows(store, "s")
    assert list(table.columns) == ["row", "id", "reason"] and table["id"].tolist() == ["=cmd", "m3"]
    csv = batches.skipped_csv(store, info["id"])
    assert csv.startswith(b"row,id,reason\r\n2,'=cmd,\"empty text") and b"\r\n3,m3," in csv
    assert batches.overview(store)["batches"][0]["skipped"] == 2


def test_whole_file_problems_write_nothing(store):
    for data in (b"case_id,text\na,x\na,y\n", b"text\n \n\n", b"notes\nx\n"):
        with pytest.raises(InputError):
            uploads.ingest_file(store, data, file_name="bad.csv", name="bad")
    assert batches.overview(store)["totals"]["batches"] == 0


def test_cli_ingest_sms_with_anomaly_values_strict_and_skipped(store, tmp_path, capsys):
    unknown = tmp_path / "junk.csv"
    sms(4).replace({"spam": "junk", "ham": "fine"}).to_csv(unknown, index=False)
    assert cli.main(["ingest", str(unknown)]) == 2
    assert "the label column 'label' holds 'fine' and 'junk'" in capsys.readouterr().err
    df = sms(10)
    df.loc[3, "message"] = ""
    path = tmp_path / "sms.csv"
    df.to_csv(path, index=False)
    assert cli.main(["ingest", str(path), "--anomaly-values", "spam", "--strict"]) == 2
    assert "empty text in column 'message' at row 4" in capsys.readouterr().err
    assert cli.main(["ingest", str(path), "--anomaly-values", "spam"]) == 0
    out = capsys.readouterr().out
    assert "9 cases, 9 labeled" in out and "spam → anomaly, ham → normal" in out
    assert "Skipped 1 rows" in out and "  row 4 (id m3): empty text" in out
    assert "rsad skipped sms --out skipped.csv" in out and "Next: rsad train-first sms" in out
    assert cli.main(["skipped", "sms", "--out", str(tmp_path / "sk.csv")]) == 0
    assert "Wrote 1 skipped rows" in capsys.readouterr().out
    assert (tmp_path / "sk.csv").read_bytes().startswith(b"row,id,reason\r\n4,m3,\"empty text")


def test_upload_page_maps_an_unknown_label_and_lists_skipped_rows(store, users):
    # spam/ham would map by themselves: values rsad does not know make the page ask.
    df = sms(12).rename(columns={"label": "category"}).replace({"spam": "junk", "ham": "fine"})
    df.loc[5, "message"] = "   "
    at = AppTest.from_file(APP, default_timeout=180).run()
    sign_in(at, "ana")
    at.switch_page("views/upload.py").run()
    at.file_uploader(key="upload_file").upload("sms.csv", df.to_csv(index=False).encode(), "text/csv").run()
    assert at.selectbox(key="map_text").value == "message" and at.selectbox(key="map_id").value == "msg_id"
    at.selectbox(key="map_label").set_value("category").run()
    assert at.radio(key="map_anomaly").options == ["fine", "junk"]
    at.radio(key="map_anomaly").set_value("junk").run()
    assert any("junk → anomaly, fine → normal" in c.value.replace("\\", "") for c in at.caption)
    at.button(key="score_button").click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert any("Skipped 1 rows of 12" in w.value for w in at.warning)
    skipped = [d.value for d in at.dataframe if "reason" in d.value.columns]
    assert skipped[0]["row"].tolist() == [6] and skipped[0]["id"].tolist() == ["m5"]
    assert at.get("download_button")
    stored = batches.overview(store)["batches"][0]
    assert stored["rows"] == 11 and stored["labeled"] == 11 and stored["skipped"] == 1
    # The file this tab just stored is no news on the next run; in another session it is.
    assert not any("already uploaded" in w.value for w in at.run().warning)
    other = AppTest.from_file(APP, default_timeout=180).run()
    sign_in(other, "bo")
    other.switch_page("views/upload.py").run()
    other.file_uploader(key="upload_file").upload("sms.csv", df.to_csv(index=False).encode(), "text/csv").run()
    assert any("already uploaded as batch" in w.value for w in other.warning)
