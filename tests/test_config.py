from pathlib import Path

import pytest

from rsad.config import PROJECT_ROOT, embedded_base_model, get_settings
from rsad.errors import ConfigError


def test_defaults_point_into_the_project_and_the_embedded_model():
    s = get_settings({})
    assert s.db_url == f"sqlite:///{PROJECT_ROOT / 'db' / 'rsad.sqlite3'}"
    assert s.models_dir == PROJECT_ROOT / "models"
    assert s.device == "auto" and s.max_length == 128 and s.score_batch_size == 32
    base = Path(s.base_model_path)
    assert base == Path(embedded_base_model())
    assert (base / "config.json").exists() and (base / "model.safetensors").exists()


def test_environment_overrides(tmp_path):
    s = get_settings({"RSAD_DB_URL": "postgresql+psycopg://u@h/db", "RSAD_MODELS_DIR": str(tmp_path),
                      "RSAD_BASE_MODEL": "bert-base-chinese", "RSAD_DEVICE": "CUDA:1",
                      "RSAD_SCORE_BATCH_SIZE": "8", "RSAD_MAX_LENGTH": "256", "RSAD_BOOTSTRAP": "no",
                      "RSAD_REASON_CODES": "spam, bot ,other"})
    assert s.db_url.startswith("postgresql")
    assert s.models_dir == tmp_path
    assert s.base_model_path == "bert-base-chinese"
    assert s.device == "cuda:1" and s.score_batch_size == 8 and s.max_length == 256
    assert s.bootstrap is False
    assert s.reason_codes == ("spam", "bot", "other")


@pytest.mark.parametrize("env, fragment", [
    ({"RSAD_DEVICE": "tpu"}, "RSAD_DEVICE"),
    ({"RSAD_MAX_LENGTH": "long"}, "not a whole number"),
    ({"RSAD_SCORE_BATCH_SIZE": "0"}, "must be positive"),
    ({"RSAD_REASON_CODES": " , "}, "at least one"),
])
def test_bad_values_are_named(env, fragment):
    with pytest.raises(ConfigError, match=fragment):
        get_settings(env)


def test_sign_in_and_claim_settings(tmp_path):
    s = get_settings({})
    assert s.users_file == PROJECT_ROOT / "db" / "users.json"
    assert (s.claim_minutes, s.login_max_failures, s.login_lock_s) == (10, 5, 300)
    s = get_settings({"RSAD_USERS_FILE": str(tmp_path / "u.json"), "RSAD_CLAIM_MINUTES": "3",
                      "RSAD_LOGIN_MAX_FAILURES": "2", "RSAD_LOGIN_LOCK_S": "60"})
    assert s.users_file == tmp_path / "u.json"
    assert (s.claim_minutes, s.login_max_failures, s.login_lock_s) == (3, 2, 60)
    with pytest.raises(ConfigError, match="RSAD_CLAIM_MINUTES must be positive"):
        get_settings({"RSAD_CLAIM_MINUTES": "0"})
