"""dt.compile(..., backend="numba"): the compiled step runs Numba's kernel, gives the NumPy backend's numbers,
and its .source() shows the module Numba compiles (fused loops and all) whether or not the step has run yet;
backend="auto" says when it left the step to NumPy."""

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.codegen.numba_runtime import NumbaCompiled

RNG = np.random.default_rng(7)
X = RNG.normal(size=(6, 5))
Y = RNG.normal(size=(6, 3))


def model_and_step(seed: int = 0):
    """A float64 MLP with SGD (momentum, weight decay) and its training step."""
    dt.manual_seed(seed)
    model = dt.nn.Sequential(dt.nn.Linear(5, 8, dtype=np.float64), dt.nn.Tanh(),
                             dt.nn.Linear(8, 3, dtype=np.float64))
    opt = dt.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=0.01)
    loss_fn = dt.nn.MSELoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return model, step


def entries(compiled):
    return [entry for group in compiled._entries.values() for entry in group]


def test_the_numba_step_equals_the_numpy_step(numba_cache):
    model, step = model_and_step()
    twin, twin_step = model_and_step()
    on_numba, on_numpy = dt.compile(step, backend="numba"), dt.compile(twin_step)
    x, y = dt.tensor(X), dt.tensor(Y)
    for _ in range(4):
        np.testing.assert_allclose(on_numba(x, y).item(), on_numpy(x, y).item(), rtol=1e-12)
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-14)
    assert entries(on_numba) and all(isinstance(e.compiled, NumbaCompiled) for e in entries(on_numba))


def test_the_numba_step_shows_the_module_numba_compiles(numba_cache):
    _, step = model_and_step()
    compiled = dt.compile(step, backend="numba")
    x, y = dt.tensor(X), dt.tensor(Y)
    compiled(x, y), compiled(x, y)  # (the first call makes the momentum buffers: the second is the steady step)
    shown = compiled.source(x, y)
    assert shown.startswith('"""dualtape: step, lowered for Numba')
    assert "@numba.njit(cache=True" in shown
    assert "# fused: " in shown and "    for i" in shown  # (elementwise chains as one loop nest)
    assert "loss.backward()" in shown and "opt.step()" in shown  # (the user's lines, as comments)
    assert [shown] == [e.compiled.source for e in entries(compiled) if e.guards_hold()]  # what runs is shown


def test_the_source_before_the_first_call_is_numbas_too(numba_cache):
    """Not yet traced for these arguments: .source() traces and shows the module Numba would compile, not the
    NumPy emitter's function."""
    _, step = model_and_step()
    compiled = dt.compile(step, backend="numba")
    shown = compiled.source(dt.tensor(X), dt.tensor(Y))
    assert shown.startswith('"""dualtape: step, lowered for Numba') and "# fused: " in shown
    assert not shown.startswith("def step(")


def test_auto_says_when_it_left_the_step_to_numpy(numba_cache):
    big = dt.tensor(RNG.normal(size=(200, 200)))
    weight = dt.tensor(RNG.normal(size=(200, 200)), requires_grad=True)

    def step(x):
        loss = (x @ weight).tanh().sum()
        loss.backward()
        return loss

    compiled = dt.compile(step, backend="auto")
    compiled(big)
    shown = compiled.source(big)
    assert shown.startswith("# backend='auto' chose NumPy") and "BLAS-bound" in shown.splitlines()[0]
    assert "def step(" in shown


def test_a_jitted_functions_source_is_its_backends(numba_cache):
    """dt.jit(f, backend=...).source(x) shows what that backend compiles, as dt.source(f, x, backend=...) does."""
    f = dt.jit(lambda x: dnp.sin(x) * 2.0 + 1.0, backend="numba")
    assert f.source(np.ones(4)).startswith('"""dualtape: ') and "numba.njit" in f.source(np.ones(4))
    g = dt.jit(lambda a: a @ a, backend="auto")
    assert g.source(np.ones((300, 300))).startswith("# backend='auto' chose NumPy: matmul of ")
