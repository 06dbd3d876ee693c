"""The complex-parts rows and the two conventions, side by side (docs/derivatives.md): the functional API gives
JAX's derivatives, the eager API PyTorch's; issue #17's reproducers against both peers, and the rules of
grad, jacfwd and jacrev for complex values."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp

Z = np.array(0.4 + 0.3j)
ZS = np.array([0.4 + 0.3j, -0.2 + 0.5j, 1.5 - 0.7j])


def test_issue_reproducers_give_jaxs_answers():
    assert dt.vjp(np.abs, Z)[1](np.array(1.0))[0] == pytest.approx(0.8 - 0.6j)
    assert dt.jvp(np.abs, (Z,), (np.array(0.7 - 0.2j),))[1] == pytest.approx(0.44)
    assert dt.vjp(lambda a, b: a * b, 2.0, 1 + 1j)[1](1 + 1j)[0] == 0.0
    assert dt.vjp(lambda a, b: a * b, np.float64(2.0), 1 + 1j)[1](1 + 1j)[0] == 0.0
    with pytest.raises(TypeError, match="holomorphic=True"):
        dt.grad(lambda x: x * (1 + 0.2j))(1.0)
    assert dnp.linalg.norm(np.array([1 + 2j, 3 - 1j]), ord=2) == pytest.approx(np.sqrt(15))


LOSSES = {  # real-valued functions of complex values, as each library spells them (m: its numpy module)
    "abs": lambda m, z: m.sum(m.abs(z)),
    "angle": lambda m, z: m.sum(m.angle(z) ** 2),
    "parts": lambda m, z: m.sum(m.real(z) * m.imag(z) ** 2),
    "conj": lambda m, z: m.sum(m.real(m.conj(z) * z * (0.3 + 2j))),
    "holomorphic inside": lambda m, z: m.sum(m.abs(m.sin(z) * z + m.exp(z) / (z + 2)) ** 2),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_functional_gradients_are_jaxs(name):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    expected = jax.grad(lambda z: LOSSES[name](jax.numpy, z))(ZS)
    np.testing.assert_allclose(dt.grad(lambda z: LOSSES[name](dnp, z))(ZS), expected, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_eager_gradients_are_pytorchs(name):
    torch = pytest.importorskip("torch")
    t, tt = dt.tensor(ZS, requires_grad=True), torch.tensor(ZS, requires_grad=True)
    LOSSES[name](dnp, t).backward()
    LOSSES[name](torch, tt).backward()
    np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), np.conj(dt.grad(lambda z: LOSSES[name](dnp, z))(ZS)), rtol=1e-12)


def test_eager_hooks_and_retained_grads_see_pytorchs_convention():
    torch = pytest.importorskip("torch")
    seen = {}
    for lib, x in (("dt", dt.tensor(ZS, requires_grad=True)), ("torch", torch.tensor(ZS, requires_grad=True))):
        y = x * (1 + 2j)
        y.retain_grad()
        y.register_hook(lambda g, lib=lib: seen.update({lib: g.detach().numpy().copy()}))
        (y.abs() ** 2).sum().backward()
        seen[lib + " y"], seen[lib + " x"] = y.grad.numpy(), x.grad.numpy()
    for key in ("", " y", " x"):
        np.testing.assert_allclose(seen["dt" + key], seen["torch" + key], rtol=1e-12)


def test_holomorphic_grad_jacfwd_jacrev():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    f_dt, f_jax = (lambda z: dnp.sin(z) * z[0]), (lambda z: jax.numpy.sin(z) * z[0])
    expected = jax.jacfwd(f_jax, holomorphic=True)(ZS)
    np.testing.assert_allclose(dt.jacfwd(f_dt, holomorphic=True)(ZS), expected, rtol=1e-12)
    np.testing.assert_allclose(dt.jacrev(f_dt, holomorphic=True)(ZS), expected, rtol=1e-12)
    assert dt.grad(lambda z: dnp.sin(z) * z, holomorphic=True)(Z) == pytest.approx(np.cos(Z) * Z + np.sin(Z))


@pytest.mark.parametrize("call, message", [
    (lambda: dt.grad(lambda z: z * z, holomorphic=True)(0.5), "complex dtype"),
    (lambda: dt.grad(lambda x: x * x, holomorphic=True)(Z), None),  # (fine: complex in, complex out)
    (lambda: dt.jacfwd(dnp.sin)(ZS), "real-valued inputs"),
    (lambda: dt.jacrev(dnp.sin)(ZS), "real-valued outputs"),
    (lambda: dt.jacrev(dnp.abs, holomorphic=True)(ZS), "complex-valued outputs"),
    (lambda: dt.grad(lambda x: dnp.sum(dnp.abs(x)), holomorphic=True)(ZS), "complex-valued outputs"),
])
def test_jaxs_rules_for_complex_derivatives(call, message):
    if message is None:
        call()
        return
    with pytest.raises(TypeError, match=message):
        call()


def test_parts_of_real_values_record_nothing():
    program = dt.trace(lambda x: dnp.real(x) + dnp.conj(x) + dnp.imag(x))(np.ones(2))
    assert "real" not in str(program) and "conj" not in str(program)
    assert dt.grad(lambda x: dnp.sum(dnp.angle(x)))(np.array([-1.0, 2.0])).tolist() == [0.0, 0.0]
    with pytest.raises(dt.ConcretizationError, match="real_if_close"):
        dt.jit(dnp.real_if_close)(ZS)


def test_a_custom_functions_backward_is_written_in_pytorchs_convention():
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (dt, torch):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * (1 + 2j)

            @staticmethod
            def backward(ctx, g):
                return g * (1 - 2j)  # (PyTorch's: the output's gradient times the conjugate derivative)

        x = lib.tensor(ZS, requires_grad=True)
        (Scale.apply(x).abs() ** 2).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
