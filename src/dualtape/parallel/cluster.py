"""Which dask.distributed cluster a sharded function runs on: the one the caller names (a Client or a scheduler
address), else Dask's current client, else a local cluster started once per process and closed at exit."""

from __future__ import annotations

import atexit
import logging
import os
import threading

from ..errors import optional_module

_LOCAL: dict = {}
_STARTING = threading.Lock()


def distributed():
    """The dask.distributed module, or a BackendError saying how to install it."""
    return optional_module("distributed", "dt.parallel", "dask.distributed",
                           "pip install 'dualtape[dask]' (or pip install 'dask[distributed]')")


def resolve_client(client=None):
    """A dask.distributed Client: `client` itself, a Client connected to `client` (a scheduler address such as
    'tcp://10.0.0.5:8786'), Dask's current client, or the local cluster of default_client()."""
    module = distributed()
    if isinstance(client, module.Client):
        return client
    if isinstance(client, str):
        with _STARTING:
            found = _LOCAL.setdefault("by_address", {}).get(client)
            if found is None or found.status in ("closed", "closing"):
                found = _LOCAL["by_address"][client] = module.Client(client, set_as_default=False)
            return found
    if client is not None:
        raise TypeError(f"dt.parallel: client must be a dask.distributed.Client, a scheduler address or None, got "
                        f"{type(client).__name__}")
    try:
        return module.default_client()
    except ValueError:  # (no client made in this process yet)
        return default_client()


def default_client(n_workers: int | None = None):
    """The local cluster dt.parallel uses when no client is given or current: one worker process per core (at
    most 4, one thread each: NumPy's BLAS threads inside each), started on first use and closed at exit."""
    module = distributed()
    with _STARTING:
        client = _LOCAL.get("client")
        if client is None or client.status in ("closed", "closing"):
            workers = n_workers or max(1, min(4, os.cpu_count() or 1))
            cluster = module.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                          dashboard_address=":0",
                                          silence_logs=logging.ERROR)
            client = _LOCAL["client"] = module.Client(cluster, set_as_default=False)
            _LOCAL["cluster"] = cluster
        return client


@atexit.register
def shutdown() -> None:
    """Close the clients dt.parallel made (for scheduler addresses) and the local cluster it started; the next
    sharded call connects or starts again. Runs at exit."""
    with _STARTING:
        made = list(_LOCAL.pop("by_address", {}).values()) + [_LOCAL.pop("client", None)]
        cluster = _LOCAL.pop("cluster", None)
    for client in made:
        if client is not None:
            client.close()
    if cluster is not None:
        cluster.close()
