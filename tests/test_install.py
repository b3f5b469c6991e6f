"""A non-editable install works outside the source tree: the migrations ship inside the package,
and relative store paths land in the current folder, not in site-packages."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import tiny_table
from rsad.data.db import head_revision

HEAD = head_revision()  # the newest migration: a store opened by this release is at it

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rsad built as a wheel and installed (without dependencies: this venv has them) into a folder."""
    target, source = tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("src") / "rsad"
    # Built from a copy: a build in the checkout leaves build/lib behind, which a later build
    # would ship (a deleted module included).
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "db", "models", "bench", "docs"))
    # Built in this venv when it has setuptools (offline, quick); else pip fetches a build backend.
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *isolation,
                          "--target", str(target), str(source)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert (target / "rsad" / "data" / "migrations" / "versions").is_dir()
    return target


def test_an_installed_copy_opens_a_store_and_ingests_from_any_folder(installed: Path, tmp_path: Path):
    work = tmp_path / "desk"
    work.mkdir()
    tiny_table(12).to_csv(work / "b.csv", index=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RSAD_")}
    env.update(PYTHONPATH=str(installed), HF_HUB_OFFLINE="1", RSAD_BOOTSTRAP="0")

    def rsad(*args: str) -> subprocess.CompletedProcess:
        # -I would drop PYTHONPATH; -P keeps the source tree's cwd out of sys.path, so the
        # installed copy is the one imported.
        return subprocess.run([sys.executable, "-P", "-m", "rsad.cli", *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=300)

    probe = subprocess.run([sys.executable, "-P", "-c", "import rsad; print(rsad.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True)
    assert probe.stdout.strip().startswith(str(installed)), probe.stdout + probe.stderr
    up = rsad("db", "upgrade")
    assert up.returncode == 0 and f"revision {HEAD}" in up.stdout, up.stdout + up.stderr
    assert (work / "db" / "rsad.sqlite3").exists()  # the default store, under the current folder
    ingest = rsad("ingest", "b.csv", "--name", "first")
    assert ingest.returncode == 0 and "12 cases" in ingest.stdout, ingest.stdout + ingest.stderr
    assert "first" in rsad("batches").stdout
