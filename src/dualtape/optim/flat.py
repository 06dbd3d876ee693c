"""Foreach-style updates: a parameter group's optimiser state lives in one flat buffer per kind (each
parameter's state tensor a view of its slice), so an update rule runs once over the whole group, as PyTorch's
foreach implementations run one kernel per group instead of one per parameter. The rule is the optimiser's
own (the same function the per-parameter path calls): elementwise, so each element gets the same bits."""

from __future__ import annotations

import numpy as np

from ..eager.tensor import Tensor

# Above this many bytes of parameters a group goes parameter by parameter: each of the rule's temporaries is
# then past the allocator's mmap threshold (a fresh mapping and page faults per operation), and the flat path
# measured 3-4x slower than per-parameter updates (Adam, 6 parameters: 0.4-0.6x the time up to 98 KB, float32
# and float64; 3.1-3.9x from 196 KB; one thread, 2-core x86_64).
FLAT_BYTES = 1 << 17


class FlatGroup:
    """One group's state in flat buffers: `buffers[kind]` holds every parameter's `kind` state end to end, and
    `steps` their step counts (float64, as PyTorch keeps them), each parameter's entries being views."""

    def __init__(self, params: list, kinds: tuple[str, ...], dtype):
        self.params = params
        self.ids = tuple(map(id, params))
        sizes = [p._array.size for p in params]
        self.bounds = list(zip(np.cumsum([0] + sizes[:-1]).tolist(), np.cumsum(sizes).tolist()))
        total = sum(sizes)
        self.buffers = {kind: np.zeros(total, dtype) for kind in kinds}
        self.steps = np.zeros(len(params))
        self.tensors = []  # per parameter: its state dict's tensors, views of the buffers
        for i, (p, (a, b)) in enumerate(zip(params, self.bounds)):
            entry = {"step": Tensor._wrap(self.steps[i:i + 1].reshape(()))}
            entry.update((kind, Tensor._wrap(buffer[a:b].reshape(p._array.shape))) for kind, buffer in
                         self.buffers.items())
            self.tensors.append(entry)

    def holds(self, state) -> bool:
        """Whether each parameter's state still is this group's views (not replaced, e.g. by load_state_dict),
        and every step count is the same (a step skipped for one parameter makes them differ)."""
        for p, entry in zip(self.params, self.tensors):
            mine = state.get(p)
            if mine is None or any(mine.get(kind) is not t for kind, t in entry.items()):
                return False
        steps = self.steps
        return bool((steps == steps[0]).all())

    def gather(self, arrays) -> np.ndarray:
        """The parameters' arrays (or their gradients') end to end, in one new buffer."""
        return np.concatenate([a.reshape(-1) for a in arrays])

    def add_into(self, flat: np.ndarray, tensors) -> None:
        """Each tensor's array plus its slice of flat, in place, its version advanced (an in-place change)."""
        for t, (a, b) in zip(tensors, self.bounds):
            np.add(t._array, flat[a:b].reshape(t._array.shape), out=t._array)
            t._version[0] += 1


def flat_arrays(params, dtype) -> bool:
    """Whether a group can be updated flat: eager (not traced), every parameter a writable NumPy array of one
    floating dtype, not a view, with a gradient of its dtype and shape that is a NumPy array too, and all of
    them small (FLAT_BYTES)."""
    total = 0
    for p in params:
        total += getattr(p._array, "nbytes", 0)
    if total > FLAT_BYTES:
        return False
    for p in params:
        a, g = p._array, p._grad
        if (type(a) is not np.ndarray or a.dtype != dtype or p._view is not None or not a.flags.writeable
                or g is None or type(g._array) is not np.ndarray or g._array.dtype != dtype
                or g._array.shape != a.shape):
            return False
    return True
