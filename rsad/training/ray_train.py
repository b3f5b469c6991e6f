"""Training jobs on Ray (RSAD_RAY_ADDRESS set): the job's runner process stays the job (its row,
heartbeat, log, stop and failure handling, rsad.training.runner), and the fine-tuning itself runs
as one Ray task, with a GPU where the cluster has one. A plain remote task, not Ray Jobs or Ray
Train: Ray Jobs needs ``ray[default]`` (its job server), and one fine-tuning fits one GPU
(docs/decisions/0027-ray-scoring.md). The task opens the store itself and writes the job's
progress there, so its worker must reach the store and the models folder (PostgreSQL and a
shared folder on a cluster; on one machine, as they are)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rsad.data.db import Store
from rsad.model.ray_env import ray_session
from rsad.model.versions import VersionInfo
from rsad.progress import no_progress
from rsad.training import train

TRAIN_CPUS = 4  # at most this many CPUs for the task (fewer on a smaller Ray): torch's threads


def _remote_train(settings: Any, project: str, job_id: int, ts: Any, config: Any, actor: str, tag: str,
                  reporter: Callable[..., Any]) -> VersionInfo:
    """What the Ray task runs: the local job's own training call, reporting into the job's row
    through the runner's ``reporter`` (passed in: this module is below the runner)."""
    store = Store(settings, migrate=False, project=project)
    try:
        report = reporter(store, job_id, no_progress)
        return train.train_table(store, ts.table(), config=config, created_by=actor, progress=report.train,
                                 training_set=ts, tmp_tag=tag)
    finally:
        store.dispose()


def train_on_ray(store: Store, address: str, job_id: int, ts: Any, config: Any, actor: str, tag: str,
                 reporter: Callable[..., Any]) -> VersionInfo:
    """Fine-tune and register as :func:`rsad.training.train.train_table` does, in a Ray task; a
    stop (KeyboardInterrupt here) cancels the task, a failure there is raised here as itself."""
    with ray_session(address) as ray:
        have = ray.cluster_resources()
        task = ray.remote(num_cpus=max(1, min(TRAIN_CPUS, int(have.get("CPU", 1)))),
                          num_gpus=1 if have.get("GPU", 0) >= 1 else 0, max_retries=0)(_remote_train)
        ref = task.remote(store.settings, store.project_name, job_id, ts, config, actor, tag, reporter)
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause  # the training's own exception (an RsadError keeps its message)
            raise (cause if isinstance(cause, Exception) else exc) from None
        except BaseException:
            ray.cancel(ref, force=True)
            raise
