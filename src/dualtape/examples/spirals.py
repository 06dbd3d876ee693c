"""Two interleaved spirals, classified by a small MLP trained with dt.nn and dt.optim.Adam: eagerly, op by
op, or with the whole training step compiled into one program by dt.compile (same numbers, faster).

    python -m dualtape.examples.spirals

The data are generated here with a fixed seed; the model is 2-32-32-2 with tanh, trained full-batch with
cross entropy. Progress (loss and accuracy) is printed every `every` steps.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np

from .. import nn, optim
from ..compile import compile
from ..eager.factories import manual_seed, tensor
from ..eager.grad_mode import no_grad


class Result(NamedTuple):
    loss: float
    accuracy: float  # on the training points
    test_accuracy: float  # on fresh points from the same spirals


def make_spirals(n_per_class: int = 200, turns: float = 2.0, noise: float = 0.1, seed: int = 0):
    """(points float32 (2n, 2), labels int64 (2n,)): class k lies on the spiral r = t, angle = 2π·turns·t + kπ."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.random(n_per_class)) * 0.95 + 0.05
    angle = 2 * math.pi * turns * t
    points, labels = [], []
    for k in range(2):
        xy = np.stack([t * np.cos(angle + k * math.pi), t * np.sin(angle + k * math.pi)], axis=1)
        points.append(xy + noise * t[:, None] * rng.standard_normal(xy.shape))
        labels.append(np.full(n_per_class, k))
    return np.concatenate(points).astype(np.float32), np.concatenate(labels).astype(np.int64)


def make_model(hidden: int = 32) -> nn.Module:
    return nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, 2))


def accuracy(logits, labels) -> float:
    """The fraction of samples whose largest logit is the label's."""
    return (logits.argmax(1) == labels).double().mean().item()


def main(steps: int = 600, lr: float = 0.02, every: int = 100, seed: int = 0, quiet: bool = False,
         compiled: bool = False) -> Result:
    """Train (with the step compiled by dt.compile if `compiled`); return the final training loss and
    accuracy, and the accuracy on a fresh sample."""
    manual_seed(seed)
    points, labels = make_spirals(seed=seed)
    x, y = tensor(points), tensor(labels)
    model = make_model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=lr)

    def train_step(x, y):
        optimizer.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        optimizer.step()
        return loss, logits

    train_step = compile(train_step) if compiled else train_step
    for step in range(1, steps + 1):
        loss, logits = train_step(x, y)
        if not quiet and (step % every == 0 or step == 1):
            print(f"step {step:5d}  loss {loss.item():.4f}  accuracy {accuracy(logits.detach(), y):.3f}")
    test_points, test_labels = make_spirals(seed=seed + 1)
    with no_grad():
        logits = model(x)
        result = Result(loss_fn(logits, y).item(), accuracy(logits, y),
                        accuracy(model(tensor(test_points)), tensor(test_labels)))
    if not quiet:
        print(f"final: loss {result.loss:.4f}  accuracy {result.accuracy:.3f} on {len(labels)} training points, "
              f"{result.test_accuracy:.3f} on {len(test_labels)} fresh points")
    return result


if __name__ == "__main__":
    for how in ("eager", "compiled"):
        print(f"-- training {how}")
        start = time.perf_counter()
        main(compiled=how == "compiled")
        print(f"-- {how}: {time.perf_counter() - start:.2f} s")
