"""The mixed-precision workload: one training step of a 784-256-10 ReLU MLP in float32, under bfloat16 and
under float16 (with a GradScaler), eagerly (dt.autocast), compiled (dt.compile(precision=...)) and as a
functional step (dt.jit(value_and_grad, precision=...)); beside each time, the loss the step reaches after a
fixed number of steps from the same initial weights. NumPy has no bfloat16 or float16 matrix units: the
low-precision products round their operands and results and accumulate in float32 (the casts are the cost)."""

from __future__ import annotations

import importlib.util

import numpy as np

import dualtape as dt

from .. import amp, nn, optim
from .models import mlp_init, mlp_loss
from .result import Result, Table, ms, ratio
from .timing import compare

N_IN, N_HIDDEN, N_OUT, BATCH, LR = 784, 256, 10, 128, 0.05


def task(seed: int = 0):
    """(x, labels): a fixed batch whose labels a random linear teacher gives (a task an MLP learns fast)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, N_IN)).astype(np.float32)
    teacher = rng.standard_normal((N_IN, N_OUT)).astype(np.float32)
    return x, np.argmax(x @ teacher, axis=1)


def eager_step(x, labels, precision=None, compiled: bool = False):
    """(step, final loss): a zero-argument SGD step of a fresh MLP (dt.manual_seed(0)), in float32 or under
    the precision ("bfloat16", or "float16" with a GradScaler), eager or dt.compile'd, and a function that
    gives the current float32 loss of the model."""
    dt.manual_seed(0)
    model = nn.Sequential(nn.Linear(N_IN, N_HIDDEN), nn.ReLU(), nn.Linear(N_HIDDEN, N_OUT))
    optimizer = optim.SGD(model.parameters(), lr=LR)
    scaler = amp.GradScaler(enabled=precision == "float16")
    loss_fn = nn.CrossEntropyLoss()
    inputs, targets = dt.tensor(x), dt.tensor(labels)

    def forward_backward(inputs, targets):
        optimizer.zero_grad()
        if precision is None or compiled:  # (compiled: dt.compile(precision=...) traces under autocast)
            loss = loss_fn(model(inputs), targets)
        else:
            with dt.autocast("cpu", dtype=dt.Precision(precision).compute):
                loss = loss_fn(model(inputs), targets)
        scaler.scale(loss).backward()
        return loss

    run = dt.compile(forward_backward, precision=precision) if compiled else forward_backward

    def step():
        loss = run(inputs, targets)
        scaler.step(optimizer)
        scaler.update()
        return loss

    def final_loss():
        with dt.no_grad():
            return float(loss_fn(model(inputs), targets).item())

    return step, final_loss


def functional_step(x, labels, precision=None):
    """(step, final loss): SGD on (W1, b1, W2, b2) with dt.jit(dt.value_and_grad(mlp_loss), precision=...)."""
    params, _, _ = mlp_init(N_IN, N_HIDDEN, N_OUT, BATCH)
    params = list(params)
    y = np.eye(N_OUT, dtype=np.float32)[labels]
    loss_and_grad = dt.jit(dt.value_and_grad(mlp_loss), precision=precision)

    def step():
        loss, grads = loss_and_grad(tuple(params), x, y)
        for i, g in enumerate(grads):
            params[i] = params[i] - np.float32(LR) * g
        return loss

    return step, lambda: float(mlp_loss(tuple(params), x, y))


def mixed_precision(settings) -> Result:
    """MLP training step in float32, bfloat16 and float16 (+ GradScaler): time per step and loss reached."""
    result = Result("mixed_precision", "Mixed precision: MLP 784-256-10 training step (SGD, batch 128) in float32, "
                    "bfloat16 and float16, eager / dt.compile / dt.jit")
    table = Table(["contender", "time per step", "vs float32", f"loss after {_steps(settings)} steps",
                   "vs float32 loss"])
    result.tables.append(table)
    have_bf16 = importlib.util.find_spec("ml_dtypes") is not None
    x, labels = task()
    contenders, order = {}, []
    for face in ("eager", "dt.compile", "dt.jit"):
        for precision in (None, "bfloat16", "float16"):
            name = f"{face} {precision or 'float32'}" + (" + GradScaler" if precision == "float16" and
                                                          face != "dt.jit" else "")
            order.append(name)
            if precision == "bfloat16" and not have_bf16:
                continue
            contenders[name] = (functional_step(x, labels, precision) if face == "dt.jit" else
                                eager_step(x, labels, precision, compiled=face == "dt.compile"))
    losses = {}
    for name, (step, final_loss) in contenders.items():
        for _ in range(_steps(settings)):
            step()
        losses[name] = final_loss()
    times = compare({name: step for name, (step, _) in contenders.items()}, (), settings)
    for name in order:
        if name not in times:
            table.rows.append([name, "not available: pip install ml_dtypes", "", "", ""])
            continue
        base = next(n for n in times if n.split()[0] == name.split()[0])  # (the float32 row of the same face)
        t = times[name]
        table.rows.append([name, ms(t), ratio(t, times[base]), f"{losses[name]:.6f}",
                           ratio(losses[name], losses[base])])
    result.notes.append("Loss: the float32 cross-entropy of the trained model on its batch. On NumPy the low "
                        "dtypes cost time, not save it: the products accumulate in float32 with NumPy's BLAS, and "
                        "the casts around them are the cost (NumPy converts to float16 element by element, slower "
                        "than ml_dtypes' bfloat16 conversion); the policy's point here is the numbers it gives, "
                        "the same as on hardware with bfloat16 / float16 matrix units.")
    result.data["times_s"], result.data["losses"] = times, losses
    return result


def _steps(settings) -> int:
    return 10 if settings.quick else 40
