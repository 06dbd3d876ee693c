"""Data-parallel gradients on Dask (`dt.parallel`): shard a batch, or the basis vectors of a Jacobian, run the
compiled program per shard on a `dask.distributed` cluster, and combine the results. Dask is optional
(`pip install "dualtape[dask]"`), imported only when a sharded function first runs (docs/scale.md)."""

from .cluster import default_client, shutdown
from .data import data_parallel
from .jacobians import jacfwd, jacrev
from .modules import module_grads

__all__ = ["data_parallel", "default_client", "jacfwd", "jacrev", "module_grads", "shutdown"]
