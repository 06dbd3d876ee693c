"""Jacobians too big for one machine: jacrev's output basis cotangents (jacfwd's input basis tangents) cut into
shards, each worker pulling back (pushing forward) its slice in one batched, compiled pass; the rows
(columns) concatenated here. Each worker builds its slice of the identity itself: only two ints travel."""

from __future__ import annotations

import functools

import numpy as np

from .. import numpy as dnp
from ..api.forward import jvp, vmap
from ..api.reverse import vjp
from ..api.staging import jit, trace_program
from ..errors import ShapeError
from .cluster import resolve_client
from .data import Placed, run_shards


def _of_one(fn, argnum: int, args):
    return lambda x: fn(*args[:argnum], x, *args[argnum + 1:])


def vjp_rows(fn, argnum: int, basis, *args):
    """d out / d args[argnum] for the output cotangents in basis (k, out.size): (k, *args[argnum].shape)."""
    out, pullback = vjp(_of_one(fn, argnum, args), args[argnum])
    cotangents = dnp.reshape(basis, (basis.shape[0],) + dnp.shape(out))
    return vmap(lambda c: pullback(c)[0])(cotangents)


def jvp_columns(fn, argnum: int, basis, *args):
    """d out / d args[argnum] along the input tangents in basis (k, x.size): (k, *out.shape)."""
    x = args[argnum]
    tangents = dnp.reshape(basis, (basis.shape[0],) + dnp.shape(x))
    return vmap(lambda t: jvp(_of_one(fn, argnum, args), (x,), (t,))[1])(tangents)


def basis_slice(batched, size: int, dtype, start: int, stop: int, *args):
    """What a worker runs: rows start..stop of the identity of this size, through the compiled batched pass."""
    basis = np.zeros((stop - start, size), dtype)
    basis[np.arange(stop - start), np.arange(start, stop)] = 1
    return batched(basis, *args)


def _sharded_jacobian(fn, argnum: int, batched_of, mode: str, shards, client):
    where = f"dt.parallel.{mode}"
    batched = Placed(jit(functools.partial(batched_of, fn, argnum)))

    @functools.wraps(fn)
    def jacobian(*args):
        if not isinstance(argnum, int) or not -len(args) <= argnum < len(args):
            raise ShapeError(where, f"argnums={argnum!r} does not name one of the {len(args)} positional arguments",
                             fix="give the index of the one array argument to differentiate")
        program, _ = trace_program(fn, args)
        if len(program.outputs) != 1:
            raise ShapeError(where, f"the function returns {len(program.outputs)} arrays",
                             fix="return one array (stack or concatenate the outputs)")
        out_aval, x = program.outputs[0].aval, np.asarray(args[argnum])
        if mode == "jacrev":
            size, dtype, moved = out_aval.size, out_aval.dtype, out_aval.shape
        else:
            size, dtype, moved = x.size, x.dtype, x.shape
        connected = resolve_client(client)
        count = max(1, min(size, shards or sum(connected.nthreads().values()) or 1))
        bounds = np.linspace(0, size, count + 1).astype(int)
        head = (batched.on(connected), size, dtype)
        whole = {**dict(enumerate(head)), **dict(enumerate(args, start=5))}  # (3, 4: each shard's start, stop)
        shard_args = [head + (int(a), int(b)) + tuple(args) for a, b in zip(bounds[:-1], bounds[1:])]
        parts = run_shards(basis_slice, shard_args, whole, connected)
        stacked = np.concatenate(parts, axis=0)  # (size, *other side's shape)
        if mode == "jacrev":
            return stacked.reshape(moved + x.shape)
        return np.moveaxis(stacked.reshape(moved + tuple(out_aval.shape)), range(len(moved)), range(
            -len(moved), 0))

    return jacobian


def jacrev(fn, argnums: int = 0, *, shards: int | None = None, client=None):
    """dt.jacrev(fn, argnums) (shape out.shape + x.shape) with the output's basis cut into shards, each pulled
    back on a worker of a Dask cluster (client as for data_parallel). One array argument, one array output."""
    return _sharded_jacobian(fn, argnums, vjp_rows, "jacrev", shards, client)


def jacfwd(fn, argnums: int = 0, *, shards: int | None = None, client=None):
    """dt.jacfwd(fn, argnums) with the input's basis tangents cut into shards, each pushed forward on a worker
    of a Dask cluster (client as for data_parallel). One array argument, one array output."""
    return _sharded_jacobian(fn, argnums, jvp_columns, "jacfwd", shards, client)
