"""Mixed-precision training end to end: a small dualtape.nn MLP trained with its products in bfloat16 (eager
dt.autocast, dt.compile(precision=...), and dt.jit(value_and_grad, precision=...)) reaches the float32 run's loss;
float16 with a GradScaler does too, rescues gradients that float16 alone loses to underflow, and skips the
steps whose scaled gradients overflow."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape import nn, optim

STEPS, NOISE = 150, 0.2


def regression(seed=0):
    """(x, y): 1024 noisy samples of a smooth function of 16 inputs (a fixed synthetic task, whose loss
    levels off near the noise's variance, 0.04, rather than at what the low dtype can resolve)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1024, 16)).astype(np.float32)
    clean = np.sin(x[:, :4] @ rng.standard_normal((4, 2)))
    return x, (clean + NOISE * rng.standard_normal(clean.shape)).astype(np.float32)


def train(autocast_dtype=None, face="eager", scaler=None, loss_weight=1.0, steps=STEPS):
    """(final float32 loss, steps skipped) of an Adam-trained 16-32-2 tanh MLP from dt.manual_seed(0)."""
    dt.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 2))
    optimizer = optim.Adam(model.parameters(), lr=1e-2, eps=1e-8 * loss_weight)  # (so the weight changes nothing)
    scaler = scaler or dt.amp.GradScaler(enabled=False)
    x, y = (dt.tensor(a) for a in regression())

    def forward_backward(x, y):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y) * loss_weight
        scaler.scale(loss).backward()
        return loss

    if face == "compile":
        run = dt.compile(forward_backward, precision=autocast_dtype)
    else:
        run = dt.autocast("cpu", dtype=autocast_dtype or np.float16, enabled=autocast_dtype is not None)(
            forward_backward)
    skipped = 0
    for _ in range(steps):
        run(x, y)
        before = model[0].weight.detach().numpy().copy()
        scaler.step(optimizer)
        scaler.update()
        skipped += np.array_equal(before, model[0].weight.detach().numpy())
    with dt.no_grad():
        return nn.functional.mse_loss(model(x), y).item(), skipped


@pytest.fixture(scope="module")
def float32_loss():
    loss, skipped = train()
    assert loss < 1.5 * NOISE**2 and skipped == 0  # (the task is learnt: the comparisons below mean something)
    return loss


def within(loss, reference, tolerance=0.1):
    return abs(loss - reference) <= tolerance * reference


@pytest.mark.parametrize("face", ["eager", "compile"])
def test_bfloat16_training_reaches_the_float32_loss(float32_loss, face):
    bfloat16 = pytest.importorskip("ml_dtypes").bfloat16
    loss, skipped = train(bfloat16, face)
    assert within(loss, float32_loss) and skipped == 0


def test_float16_with_a_grad_scaler_reaches_the_float32_loss(float32_loss):
    scaler = dt.amp.GradScaler()
    loss, skipped = train(np.float16, "compile", scaler)
    assert within(loss, float32_loss) and skipped == 0 and scaler.get_scale() == 2.0**16


def test_the_grad_scaler_rescues_float16_gradients_from_underflow(float32_loss):
    """A loss weighted by 1e-6 has gradients below float16's smallest subnormal: without scaling the first
    layer's float16 weight gradients are zero and it never moves; scaled, the run learns as the float32 one."""
    loss, skipped = train(np.float16, loss_weight=1e-6, steps=10)
    assert skipped == 10
    loss, skipped = train(np.float16, "compile", dt.amp.GradScaler(init_scale=2.0**24), loss_weight=1e-6)
    assert within(loss, float32_loss) and skipped == 0


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_steps_whose_scaled_gradients_overflow_are_skipped():
    scaler = dt.amp.GradScaler(init_scale=2.0**40)
    loss, skipped = train(np.float16, "compile", scaler)  # (the scale, a tensor, is the program's input)
    assert skipped >= 10  # (2**40 backs off by halves until the float16 gradients are finite)
    assert scaler.get_scale() == 2.0 ** (40 - skipped)
    assert within(loss, train(face="compile", steps=STEPS - skipped)[0])  # (as many steps taken as float32's)


def test_bfloat16_jit_training_reaches_the_float32_loss():
    pytest.importorskip("ml_dtypes")
    x, y = regression()
    rng = np.random.default_rng(1)
    initial = [(0.3 * rng.standard_normal((16, 32))).astype(np.float32), np.zeros(32, np.float32),
               (0.1 * rng.standard_normal((32, 2))).astype(np.float32), np.zeros(2, np.float32)]

    def loss(params, x, y):
        w1, b1, w2, b2 = params
        return dnp.mean((dnp.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2)

    finals = []
    for precision in (None, "bfloat16"):
        params, step = list(initial), dt.jit(dt.value_and_grad(loss), precision=precision)
        for _ in range(300):
            _, grads = step(params, x, y)
            params = [p - np.float32(0.5) * g for p, g in zip(params, grads)]
        assert all(p.dtype == np.float32 for p in params)
        finals.append(float(loss(params, x, y)))
    assert finals[0] < 3 * NOISE**2 and within(finals[1], finals[0])
