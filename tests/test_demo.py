"""The embedded-default bootstrap on a shrunken demo (the full one trains for minutes)."""

import pytest

from rsad.errors import StateError
from rsad.model import versions
from rsad.model.card import TrainConfig
from rsad.ops.demo import DEMO_BATCH, SEED_BATCH, bootstrap
from rsad.service import batches

SMALL = TrainConfig(epochs=1, max_length=64, learning_rate=1e-4, min_steps=0)


def test_bootstrap_builds_then_reuses(store):
    updates = []
    first = bootstrap(store, train_config=SMALL, sizes=(120, 40),
                      progress=lambda d, t, m: updates.append((d, t, m)))
    info = batches.overview(store)
    by_name = {b["name"]: b for b in info["batches"]}
    assert by_name[SEED_BATCH]["rows"] == 120 and by_name[SEED_BATCH]["labeled"] == 120
    assert by_name[DEMO_BATCH]["rows"] == 40 and by_name[DEMO_BATCH]["labeled"] == 0
    assert by_name[DEMO_BATCH]["scored"] == 40
    assert info["active"].name == first["model"] == "v1"
    assert info["active"].created_by == "demo"
    # Progress only moves forward and ends at 100 %.
    fractions = [d / t for d, t, _ in updates]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("Training the starter model" in m for _, _, m in updates)

    # The first run creates the admin and shows its password once; it signs in.
    assert any(f"with password {first['admin_password']}" in line for line in first["log"])
    from rsad.auth.users import sign_in

    assert sign_in(store, "admin", first["admin_password"]).role == "admin"

    second = bootstrap(store, train_config=SMALL, sizes=(120, 40))
    assert any("not retraining" in line for line in second["log"])
    assert second["admin_password"] is None and "sign in with your user" in second["log"][-1]
    assert batches.overview(store)["totals"]["batches"] == 2
    assert len(versions.list_versions(store)) == 1


def test_one_bootstrap_at_a_time(store):
    import fcntl

    store.settings.models_dir.mkdir(parents=True, exist_ok=True)
    with open(store.settings.models_dir / ".bootstrap.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(StateError, match="already being built"):
            bootstrap(store, train_config=SMALL, sizes=(40, 10))
