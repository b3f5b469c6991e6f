"""Ray for scoring (rsad.ops.ray_scoring) and training (rsad.training.ray_train): imported only
when asked for, since it is an optional extra (``pip install 'rsad[ray]'``), and connected for
one ``with`` block."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from rsad.errors import StateError
from rsad.i18n import _

ADDRESS_ENV = "RSAD_RAY_ADDRESS"  # set: training jobs run on this Ray ("local": one started here)


def ray_address() -> str | None:
    """Where training jobs run on Ray (RSAD_RAY_ADDRESS), None: in the job's own process."""
    return os.environ.get(ADDRESS_ENV, "").strip() or None


def import_ray() -> ModuleType:
    """Ray, or a StateError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the extra installs ray[data]; a bare ray lacks it
    except ImportError as exc:
        raise StateError(_("Scoring and training on Ray need Ray: pip install 'rsad[ray]' ({exc}).").format(
            exc=exc)) from exc
    return ray


@contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[ModuleType]:
    """Ray, connected for the ``with``: to ``address`` (a cluster, e.g. ``ray://head:10001`` or
    ``auto``), else a local Ray started here and shut down after (``num_cpus`` caps it). A Ray the
    caller already started is used as it is and left running."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    local = not address or address == "local"
    options: dict[str, Any] = {"num_cpus": num_cpus} if local and num_cpus else {}
    try:
        ray.init(address=None if local else address, include_dashboard=False, log_to_driver=False, **options)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise StateError(_("Could not connect to Ray at {address}: {exc}").format(address=address, exc=exc)) from exc
    try:
        yield ray
    finally:
        ray.shutdown()  # ends this driver's actors and tasks too: a stop leaves nothing running
