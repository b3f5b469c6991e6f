"""Projects keep their batches, versions, labels, jobs and thresholds apart."""

from __future__ import annotations

import pandas as pd
import pytest

from rsad.errors import AccessError, InputError, NotFoundError
from rsad.service.users import User

ROOT, ANA = User("root", "admin"), User("ana", "analyst")


def _csv(texts: list[str], labels: list[int | None]) -> bytes:
    return pd.DataFrame({"case_id": [f"c{i}" for i in range(len(texts))], "behavior_description": texts,
                         "is_anomaly": labels}).to_csv(index=False).encode()


def _version(store, name: str, threshold: float = 0.5):  # noqa: ANN001, ANN202
    from rsad.model import versions

    with store.session() as s:
        v = versions.add_model_version(s, project_id=store.project_id, name=name, folder=f"/m/{name}",
                                       base_model="b", train_config={}, data_hash="h", metrics={},
                                       threshold=threshold, created_by="test")
        return v.id


@pytest.fixture
def two(store):  # noqa: ANN001, ANN201
    from rsad.service.batches import ingest_file
    from rsad.service.projects import add_project

    add_project(store, "sms", user=ROOT, reason_codes=("spam", "phishing"), start_per_class=5)
    sms = store.in_project("sms")
    for where, texts, labels in ((store, ["orders from 9 devices", "watched a show"], [1, 0]),
                                 (sms, ["WIN CASH now", "see you at 6", "call me"], [1, 0, 0])):
        ingest_file(where, _csv(texts, labels), name="b", file_name="b.csv", uploader="ana")
    return store, sms


def test_batches_versions_and_labels_stay_in_their_project(two):  # noqa: ANN001
    from rsad.data import store as q
    from rsad.service import batches, labels, models
    from rsad.service.models import promote
    from rsad.service.review import QueueFilter, case_view, claim_case, queue, record_verdicts

    default, sms = two
    assert batches.overview(default)["totals"]["cases"] == 2
    assert batches.overview(sms)["totals"]["cases"] == 3
    _version(default, "v1")
    _version(sms, "v1")  # the same name in another project
    _version(sms, "v2")
    assert [v.name for v in models.list_versions(sms)] == ["v2", "v1"]
    assert [v.name for v in models.list_versions(default)] == ["v1"]
    assert models.active_version(sms).name == "v1"
    promote(sms, "v2", user=ROOT, reason="better")
    assert models.active_version(sms).name == "v2"
    assert models.active_version(default).name == "v1"  # untouched by the other project's promotion
    with sms.session() as s:
        sms_case = min(q.external_ids(s, q.get_batch(s, "b", project_id=sms.project_id).id))
        with pytest.raises(NotFoundError, match="in this project"):  # another project's batch, by id
            q.get_batch(s, q.list_batch_ids(s, project_id=default.project_id)[0], project_id=sms.project_id)
    record_verdicts(sms, [sms_case], "anomaly", analyst="ana", reason_code="phishing")
    with pytest.raises(InputError, match="Unknown reason code"):  # the default project's codes differ
        record_verdicts(default, [sms_case], "anomaly", analyst="ana", reason_code="phishing")
    with pytest.raises(NotFoundError, match="not in project 'default'"):  # a stale form from the other project
        record_verdicts(default, [sms_case], "normal", analyst="ana")
    with pytest.raises(NotFoundError, match="in this project"):  # a Review link into another project
        case_view(default, sms_case)
    assert case_view(sms, sms_case).external_id == "c0"
    with pytest.raises(NotFoundError, match="in this project"):
        claim_case(default, sms_case, "bo")
    claim_case(sms, sms_case, "bo")
    assert [h["analyst"] for h in queue(sms, QueueFilter(status="all", viewer="ana")).held] == ["bo"]
    assert queue(default, QueueFilter(status="all", viewer="ana")).held == []  # bo's claim is in sms
    assert len(labels.verdict_table(sms)) == 1 and labels.verdict_table(default).empty
    assert len(labels.current_label_table(sms)) == 3 and len(labels.current_label_table(default)) == 2


def test_metadata_filters_offer_only_the_projects_columns(store):  # noqa: ANN001
    from rsad.service.batches import ingest_file
    from rsad.service.projects import add_project
    from rsad.service.review import metadata_keys, metadata_values

    add_project(store, "games", user=ROOT)
    games = store.in_project("games")
    for where, extra in ((store, {"shop": ["s1", "s2"]}), (games, {"server": ["eu", "eu"]})):
        frame = pd.DataFrame({"case_id": ["a", "b"], "behavior_description": ["x y", "z w"], **extra})
        ingest_file(where, frame.to_csv(index=False).encode(), name="m", file_name="m.csv", uploader="ana")
    assert metadata_keys(games, None) == ["server"] and metadata_keys(store, None) == ["shop"]
    assert metadata_values(games, None, "server") == ["eu"] and metadata_values(games, None, "shop") == []


def test_training_sets_and_jobs_are_per_project(two):  # noqa: ANN001
    from rsad.review.trainset import assemble
    from rsad.service import jobs

    default, sms = two
    assert sorted(assemble(sms).table()["text"]) == ["WIN CASH now", "call me", "see you at 6"]
    with pytest.raises(InputError, match="both classes, at least 2 of each: project 'sms' has 1 anomaly"):
        jobs.start_first_model(sms, "b", user=ROOT, spawn=False)  # a first model of one anomaly: refused
    job = jobs.start(sms, jobs.RetrainParams(), user=ROOT, spawn=False)
    assert job["params"]["project"] == "sms"
    assert [j["id"] for j in jobs.recent(sms)] == [job["id"]] and jobs.recent(default) == []
    with pytest.raises(Exception, match="one training at a time"):  # one training process on the machine
        jobs.start(default, jobs.RetrainParams(), user=ROOT, spawn=False)


def test_projects_are_created_by_admins_and_remembered_per_user(store):  # noqa: ANN001
    from rsad.service import projects

    with pytest.raises(AccessError, match="admin"):
        projects.add_project(store, "x", user=ANA)
    for bad in ("", "a b", "../up", "-x"):
        with pytest.raises(InputError, match="Project name"):
            projects.add_project(store, bad, user=ROOT)
    projects.add_project(store, "reviews", user=ROOT)
    with pytest.raises(InputError, match="already exists"):
        projects.add_project(store, "reviews", user=ROOT)
    with pytest.raises(InputError, match="not a Hugging Face model folder"):
        projects.add_project(store, "zh", user=ROOT, base_model="/nowhere")
    assert projects.current_project(store, "ana") == "default"
    projects.remember_project(store, "ana", "reviews")
    assert projects.current_project(store, "ana") == "reviews"
    assert projects.current_project(store, "bo") == "default"
    with pytest.raises(NotFoundError):
        projects.remember_project(store, "ana", "nope")
    with pytest.raises(NotFoundError, match="rsad projects add nope"):
        store.in_project("nope").project_id  # noqa: B018


def test_version_folders_of_a_project_live_apart(store):  # noqa: ANN001
    from rsad.service.projects import add_project

    add_project(store, "sms", user=ROOT)
    assert store.models_dir == store.settings.models_dir
    assert store.in_project("sms").models_dir == store.settings.models_dir / "projects" / "sms"


def test_cli_takes_project_before_or_after_the_verb(env, tmp_path, capsys):  # noqa: ANN001
    from rsad.cli.main import main

    data = tmp_path / "t.csv"
    data.write_bytes(_csv(["hello there", "win cash now"], [0, 1]))
    assert main(["projects", "add", "sms", "--description", "SMS spam"]) == 0
    assert "--project sms" in capsys.readouterr().out
    assert main(["ingest", str(data), "--name", "t", "--project", "sms"]) == 0
    assert "--project sms" in capsys.readouterr().out  # the next command it suggests stays in the project
    assert main(["--project", "sms", "batches"]) == 0
    assert " t " in capsys.readouterr().out
    assert main(["batches"]) == 0
    assert "No batches in project 'default' yet" in capsys.readouterr().out
    assert main(["projects", "list"]) == 0
    out = capsys.readouterr().out
    assert "default" in out and "sms" in out
    assert main(["--project", "nope", "batches"]) == 2
    assert "rsad projects add nope" in capsys.readouterr().err
