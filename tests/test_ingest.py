import io
import json

import pandas as pd
import pytest

from conftest import tiny_table
from rsad.data.ingest import ColumnMap, load_batch, parse_labels
from rsad.errors import InputError


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_every_format_reads_the_same_batch(fmt):
    df = tiny_table(6)
    if fmt == "csv":
        data = _csv(df)
    elif fmt == "tsv":
        data = df.to_csv(index=False, sep="\t").encode()
    elif fmt == "jsonl":
        data = df.to_json(orient="records", lines=True, force_ascii=False).encode()
    else:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        data = buf.getvalue()
    b = load_batch(data, file_name=f"batch.{fmt}")
    assert b.ids == list(df["case_id"])
    assert b.texts == list(df["behavior_description"])
    assert b.labels == [0, 1, 0, 1, 0, 1]
    assert b.meta[0] == {"platform": "video"} and b.meta[1] == {"platform": "shop"}
    assert len(b.sha256) == 64 and b.n_labeled == 6


def test_label_spellings_in_any_case_and_blanks():
    values = pd.Series(["1", "0", "TRUE", "false", "Yes", "no", "Anomaly", "NORMAL", "", None, 1.0])
    assert parse_labels(values, "y") == [1, 0, 1, 0, 1, 0, 1, 0, None, None, 1]


def test_values_that_are_not_labels_name_their_rows_and_unreadable_ones_are_skipped():
    df = tiny_table(6)
    df["is_anomaly"] = df["is_anomaly"].astype(str)
    df.loc[1, "is_anomaly"] = "maybe"
    df.loc[4, "is_anomaly"] = "2"
    for strict in (True, False):  # a third value is an error, tolerant or not
        with pytest.raises(InputError, match=r"also 'maybe', '2' at rows 2, 5"):
            load_batch(_csv(df), file_name="x.csv", strict=strict)
    df.loc[1, "is_anomaly"], df.loc[4, "is_anomaly"] = "??", "n/a"
    with pytest.raises(InputError, match=r"also '\?\?', 'n/a' at rows 2, 5"):
        load_batch(_csv(df), file_name="x.csv", strict=True)
    b = load_batch(_csv(df), file_name="x.csv")
    assert b.ids == ["c000", "c002", "c003", "c005"] and b.rows_in_file == 6
    assert [(r["row"], r["id"]) for r in b.skipped] == [(2, "c001"), (5, "c004")]
    assert "label '??' in column 'is_anomaly' is not a label value" in b.skipped[0]["reason"]


def test_column_mapping_and_missing_label_means_unlabeled():
    df = pd.DataFrame({"uid": ["a", "b"], "desc": ["one text", "two text"], "country": ["CN", "US"]})
    b = load_batch(_csv(df), file_name="x.csv", columns=ColumnMap(text="desc", label="lbl", id="uid"))
    assert b.ids == ["a", "b"] and b.labels == [None, None] and b.meta == [{"country": "CN"}, {"country": "US"}]


def test_generated_ids_are_stable_and_unique():
    df = pd.DataFrame({"behavior_description": ["same", "same", "other"]})
    first = load_batch(_csv(df), file_name="x.csv")
    second = load_batch(_csv(df), file_name="y.csv")
    assert first.generated_ids and first.ids == second.ids
    assert len(set(first.ids)) == 3 and first.ids[1] == first.ids[0] + "-2"


@pytest.mark.parametrize("data, name, fragment", [
    (b"a,b\n1,2\n", "x.xlsx", "unsupported file type '.xlsx'"),
    (b"", "x.csv", "is empty"),
    (b"behavior_description,is_anomaly\n", "x.csv", "no data rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "x.csv", "looks binary"),
    ("behavior_description\ncaf\u00e9\n".encode("latin-1"), "x.csv", "not UTF-8 \\(bad byte at line 2\\)"),
    (b"notes,is_anomaly\nhello,1\n", "x.csv",
     "no text column 'behavior_description'. Columns found: 'notes', 'is_anomaly'"),
    (b"text,message,is_anomaly\nhello,hi,1\n", "x.csv", "Several columns could hold it \\('text', 'message'\\)"),
    (b"behavior_description,is_anomaly\n  ,0\n,1\n", "x.csv", "no usable rows.*empty text.*\\(2 rows\\)"),
    (b"case_id,behavior_description\na,x\nb,y\na,z\n", "x.csv", "duplicate ids .* rows 1, 3 \\('a'\\)"),
    (b"behavior_description,b\nx,1\ny,2,3\n", "x.csv", "row 2 has 3 fields, the header has 2"),
    (b'{"behavior_description": "x"}\n{oops\n', "x.jsonl", "line 2: not valid JSON"),
    (b'["a", "b"]\n', "x.jsonl", "line 1: each line must be a JSON object"),
    (b"PAR1\x00\x01garbage", "x.parquet", "not a valid Parquet file"),
])
def test_bad_files_get_actionable_errors(data, name, fragment):
    with pytest.raises(InputError, match=fragment):
        load_batch(data, file_name=name)


def test_strict_keeps_the_all_or_nothing_messages():
    data = b"behavior_description,is_anomaly\nfine,1\n  ,0\n,1\n"
    with pytest.raises(InputError, match="empty text .* rows 2, 3"):
        load_batch(data, file_name="x.csv", strict=True)
    b = load_batch(data, file_name="x.csv")
    assert b.texts == ["fine"] and [r["row"] for r in b.skipped] == [2, 3]


def test_bom_is_accepted():
    b = load_batch("\ufeffbehavior_description\nhello\n".encode(), file_name="x.csv")
    assert b.columns == ["behavior_description"] and b.texts == ["hello"]


def test_size_limit(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"behavior_description\n" + b"x" * 2048 + b"\n")
    with pytest.raises(InputError, match="over the 0 MB limit"):
        load_batch(path, max_bytes=1024)
    with pytest.raises(InputError, match="No such file"):
        load_batch(tmp_path / "missing.csv")


def test_split_filter_and_nested_metadata():
    lines = [{"behavior_description": "a", "is_anomaly": 1, "split": "train", "extra": {"k": [1, 2]}},
             {"behavior_description": "b", "is_anomaly": 0, "split": "test", "extra": None}]
    data = "\n".join(json.dumps(x) for x in lines).encode()
    b = load_batch(data, file_name="x.jsonl", split=("split", "train"))
    assert b.texts == ["a"] and b.meta == [{"split": "train", "extra": {"k": [1, 2]}}]
    with pytest.raises(InputError, match="no rows with split = 'dev'"):
        load_batch(data, file_name="x.jsonl", split=("split", "dev"))


def test_training_requires_labels():
    data = b"behavior_description\nhello\n"
    with pytest.raises(InputError, match="no label column 'is_anomaly'"):
        load_batch(data, file_name="x.csv", label_required=True)
