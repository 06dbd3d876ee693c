"""GPU benchmark (issue #9): the gradient of a 784-4096-4096-10 tanh MLP with softmax cross-entropy, batch
1024, float32, compiled by dualtape for CuPy, against the same gradient written by hand in CuPy (target
<= 1.10x) and PyTorch on CUDA when it is installed. Medians of interleaved rounds, timed with CUDA events.

Run: python benchmarks/gpu_mlp.py [--rounds N] [--small] [--backend cupy|numpy] [--json PATH]
Without a GPU it says so and exits. `--backend numpy --small` runs the same comparison on the CPU (PyTorch
on the CPU), to check this script on any machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.codegen.runtime import array_module

FULL = {"sizes": (784, 4096, 4096, 10), "batch": 1024}
SMALL = {"sizes": (64, 128, 128, 10), "batch": 32}


def init(sizes, batch, seed=0):
    """((W1, b1, W2, b2, W3, b3), x, y): float32 NumPy arrays, y one-hot."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        params += [(rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(np.float32),
                   np.zeros(n_out, np.float32)]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    return tuple(params), x, y


def loss(params, x, y):
    """Mean softmax cross-entropy of the tanh MLP, written with dualtape.numpy."""
    W1, b1, W2, b2, W3, b3 = params
    h = dnp.tanh(dnp.tanh(x @ W1 + b1) @ W2 + b2)
    return -dnp.mean(dnp.sum(y * dnp.log_softmax(h @ W3 + b3, axis=-1), axis=-1))


def grad_by_hand(xp):
    """The gradient a person writes with array module xp (y one-hot: d loss / d logits = (p - y) / batch)."""

    def gradient(params, x, y):
        W1, b1, W2, b2, W3, b3 = params
        h1 = xp.tanh(x @ W1 + b1)
        h2 = xp.tanh(h1 @ W2 + b2)
        z = h2 @ W3 + b3
        e = xp.exp(z - z.max(axis=1, keepdims=True))
        dz = (e / e.sum(axis=1, keepdims=True) - y) / x.shape[0]
        da2 = (dz @ W3.T) * (1 - h2 * h2)
        da1 = (da2 @ W2.T) * (1 - h1 * h1)
        return x.T @ da1, da1.sum(axis=0), h1.T @ da2, da2.sum(axis=0), h2.T @ dz, dz.sum(axis=0)

    return gradient


def torch_contender(params, x, y, device):
    """(gradient function, its arguments) with PyTorch autograd on device, or None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    if device == "cuda" and not torch.cuda.is_available():
        return None
    ps = [torch.tensor(p, device=device, requires_grad=True) for p in params]
    tx, ty = torch.tensor(x, device=device), torch.tensor(y, device=device)

    def gradient(ps, x, y):
        W1, b1, W2, b2, W3, b3 = ps
        h = torch.tanh(torch.tanh(x @ W1 + b1) @ W2 + b2)
        value = -(y * torch.log_softmax(h @ W3 + b3, dim=-1)).sum(dim=-1).mean()
        return torch.autograd.grad(value, ps)

    return gradient, (ps, tx, ty)


def cuda_timer(cupy, sync=None):
    """Seconds per call of fn(*args), n calls between two CUDA events; sync() also waits for another
    library's stream (PyTorch's) before the closing event is recorded."""

    def measure(fn, args, n):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        cupy.cuda.Device().synchronize()
        start.record()
        for _ in range(n):
            fn(*args)
        if sync is not None:
            sync()
        stop.record()
        stop.synchronize()
        return cupy.cuda.get_elapsed_time(start, stop) / 1e3 / n

    return measure


def host_timer(fn, args, n):
    start = time.perf_counter()
    for _ in range(n):
        fn(*args)
    return (time.perf_counter() - start) / n


def medians(contenders: dict, rounds: int, number: int) -> dict[str, float]:
    """Median seconds per call of each (fn, args, timer), measured round-robin after two warm-up calls."""
    samples = {name: [] for name in contenders}
    for fn, args, timer in contenders.values():
        timer(fn, args, 2)  # compiles kernels (CuPy, dualtape) and fills memory pools
    for _ in range(rounds):
        for name, (fn, args, timer) in contenders.items():
            samples[name].append(timer(fn, args, number))
    return {name: statistics.median(s) for name, s in samples.items()}


def to_numpy(values, backend):
    if backend == "cupy":
        import cupy

        return [cupy.asnumpy(v) for v in values]
    return [np.asarray(v.detach().cpu()) if hasattr(v, "detach") else np.asarray(v) for v in values]


def device_name(backend) -> str:
    if backend != "cupy":
        import platform

        return f"CPU ({platform.processor() or platform.machine()}), NumPy {np.__version__}"
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return f"{name}, CuPy {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}"


def run(backend: str, sizes, batch: int, rounds: int, number: int) -> dict:
    xp = array_module(backend)
    params, x, y = init(sizes, batch)
    dev_params, dev_x, dev_y = tuple(xp.asarray(p) for p in params), xp.asarray(x), xp.asarray(y)
    timer = cuda_timer(xp) if backend == "cupy" else host_timer
    contenders = {
        f'dt.grad (backend="{backend}")': (dt.grad(loss, backend=backend), (dev_params, dev_x, dev_y), timer),
        f"hand-written ({xp.__name__})": (grad_by_hand(xp), (dev_params, dev_x, dev_y), timer),
    }
    torch_device = "cuda" if backend == "cupy" else "cpu"
    with_torch = torch_contender(params, x, y, torch_device)
    if with_torch is not None:
        import torch

        sync = torch.cuda.synchronize if torch_device == "cuda" else None
        torch_timer = cuda_timer(xp, sync) if backend == "cupy" else host_timer
        contenders[f"PyTorch ({torch_device})"] = (*with_torch, torch_timer)

    reference = to_numpy(grad_by_hand(np)(params, x, y), "numpy")
    for name, (fn, args, _) in contenders.items():
        got = to_numpy(fn(*args), backend if not name.startswith("PyTorch") else "torch")
        for g, r in zip(got, reference):
            np.testing.assert_allclose(g, r, rtol=2e-3, atol=2e-5, err_msg=name)
    return {"device": device_name(backend), "sizes": list(sizes), "batch": batch,
            "seconds": medians(contenders, rounds, number)}


def table(result: dict) -> str:
    times = result["seconds"]
    names = list(times)
    hand = times[names[1]]
    lines = [f"device: {result['device']}",
             f"MLP {'-'.join(map(str, result['sizes']))}, batch {result['batch']}, float32: median time per gradient",
             "", "| contender | time per gradient | vs hand-written |", "|---|---|---|"]
    for name in names:
        ratio = f"{times[name] / hand:.2f}x" + (" (target <= 1.10)" if name.startswith("dt.grad") else "")
        lines.append(f"| {name} | {times[name] * 1e3:.3f} ms | {ratio} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("cupy", "numpy"), default="cupy")
    parser.add_argument("--small", action="store_true", help="a 64-128-128-10 MLP, batch 32")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--number", type=int, default=10, help="calls per timed round")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    if args.backend == "cupy":
        try:
            array_module("cupy")
        except (dt.BackendError, ImportError) as e:
            print(f"gpu_mlp: no GPU benchmark on this machine: {e}")
            return 0
    shape = SMALL if args.small else FULL
    result = run(args.backend, shape["sizes"], shape["batch"], args.rounds, args.number)
    print(table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
