"""`dt.autograd`: gradcheck / gradgradcheck (passing on correct derivatives, naming the worst entry of a
wrong one), functional.{jacobian, hessian, jvp, vjp, hvp} against finite differences, autograd.backward,
and tensors handed to the functional API (dt.grad, dt.jit, dt.jvp, ...) giving NumPy results."""

import numpy as np
import pytest

import dualtape as dt
from gradcheck import assert_close, numerical_jacobian, numerical_jvp, numerical_vjp
from testkit import leaf, torch_or_skip

F = dt.autograd.functional
XV = np.array([0.5, -1.0, 2.0])
YV = np.array([1.5, 0.25, -0.5])



class Cube(dt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


class WrongSquare(dt.autograd.Function):
    """x^2 with the derivative 3x (deliberately wrong)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * g


class CubeWithFlatBackward(dt.autograd.Function):
    """x^3 whose first derivative is right but is not differentiated correctly (a detached factor)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x * (3 * x.detach())


class CubeWithDetachedGradient(Cube):
    """x^3 whose backward detaches the gradient it receives: first derivatives right, second ones wrong
    wherever that gradient depends on x (d2/dx2 of Cube(x)^2 comes out 12x^4 instead of 30x^4)."""

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x * g.detach()


class SumOfCubesIgnoringItsGradient(dt.autograd.Function):
    """sum(x^3) whose backward forgets to multiply by the incoming gradient (right only when it is 1)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x ** 3).sum()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x * x


# ---- gradcheck ---------------------------------------------------------------------------------------
def test_gradcheck_passes_on_correct_derivatives():
    x, y = leaf(XV), leaf(YV)
    assert dt.autograd.gradcheck(lambda a, b: dt.sin(a * b) + a ** 2 / (1 + b * b), (x, y))
    assert dt.autograd.gradcheck(lambda a: (dt.softmax(a, dim=0) * a).sum(), (x,))
    assert dt.autograd.gradcheck(Cube.apply, (x,))
    assert dt.autograd.gradcheck(lambda a: a.reshape(3, 1) @ a.reshape(1, 3), x)  # a single tensor is fine
    assert x.grad is None and y.grad is None  # the check leaves .grad alone


def test_gradcheck_names_the_worst_entry_of_a_wrong_backward():
    x = leaf(XV)  # the analytical Jacobian is diag(3x), the true one diag(2x): worst at x = 2
    with pytest.raises(RuntimeError, match="Jacobian mismatch") as err:
        dt.autograd.gradcheck(WrongSquare.apply, (x,))
    message = str(err.value)
    assert "output element 2, input element 2" in message
    assert "numerical 4" in message and "analytical 6" in message
    assert isinstance(err.value, dt.autograd.GradcheckError)
    assert dt.autograd.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False
    assert x.detach().tolist() == XV.tolist()  # the perturbed inputs are put back
    with pytest.raises(RuntimeError, match=r"output 1 with respect to input 0: at \(output element 2, input element 2"):
        dt.autograd.gradcheck(lambda a: (a * 2, WrongSquare.apply(a)), (x,))


def test_gradcheck_wants_float64():
    with pytest.raises(RuntimeError, match="float64"):
        dt.autograd.gradcheck(lambda a: a * a, (dt.tensor([1.0, 2.0], requires_grad=True),))


def test_gradgradcheck():
    x, y = leaf(XV), leaf(YV)
    assert dt.autograd.gradgradcheck(lambda a, b: (dt.tanh(a) * b ** 2).sum(), (x, y))
    assert dt.autograd.gradgradcheck(Cube.apply, (x,))
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        dt.autograd.gradgradcheck(CubeWithFlatBackward.apply, (x,))
    assert dt.autograd.gradcheck(CubeWithFlatBackward.apply, (x,))  # its first derivative is right


def test_gradgradcheck_differentiates_through_random_output_gradients():
    """As PyTorch: the output gradients are random and checked as inputs, so a backward that detaches the
    gradient it receives fails (with all-ones gradients that are constants, it passed)."""
    x = leaf(XV)
    assert dt.autograd.gradcheck(CubeWithDetachedGradient.apply, (x,))  # its first derivative is right
    (g,) = dt.autograd.grad((CubeWithDetachedGradient.apply(x) ** 2).sum(), x, create_graph=True)
    (h,) = dt.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 12 * XV ** 4)  # the true d2/dx2 is 30 x^4: the rule is wrong
    with pytest.raises(RuntimeError, match=r"gradgradcheck .*inputs 1 and up.*with respect to input 1"):
        dt.autograd.gradgradcheck(CubeWithDetachedGradient.apply, (x,))
    assert dt.autograd.gradgradcheck(CubeWithDetachedGradient.apply, (x,), raise_exception=False) is False
    assert dt.autograd.gradgradcheck(Cube.apply, (x,), dt.tensor(YV, requires_grad=True))  # given grad_outputs
    assert x.grad is None and x.detach().tolist() == XV.tolist()


def test_gradcheck_pulls_back_random_output_gradients_too():
    """A scalar output's only one-hot gradient is 1: a backward ignoring the gradient it receives agrees with
    every Jacobian row, and only a random output gradient shows it wrong."""
    x = leaf(XV)
    with pytest.raises(RuntimeError, match=r"random output gradients u with respect to input 0"):
        dt.autograd.gradcheck(SumOfCubesIgnoringItsGradient.apply, (x,))
    assert dt.autograd.gradcheck(SumOfCubesIgnoringItsGradient.apply, (x,), raise_exception=False) is False
    assert dt.autograd.gradcheck(lambda a: (a ** 3).sum(), (x,))


# ---- functional --------------------------------------------------------------------------------------
def f_vec(x):
    """R^3 -> R^3 with a full Jacobian (dt functions: the finite differences call it on arrays)."""
    return dt.sin(x) * x.sum() + dt.tanh(x) * x[::-1]


def f_scalar(x):
    return (x ** 3).sum() + x[0] * x[1] * x[2] + dt.exp(x * 0.5).sum()


def f_two(x, y):
    return dt.sin(x * y) + x * x * y


def test_jacobian():
    jac = F.jacobian(f_vec, dt.tensor(XV))
    assert isinstance(jac, dt.Tensor) and jac.shape == (3, 3) and jac.dtype == np.float64
    assert_close(jac.numpy(), numerical_jacobian(f_vec, (XV,)), "jacobian")
    jx, jy = F.jacobian(f_two, (dt.tensor(XV), dt.tensor(YV)))
    assert_close(jx.numpy(), numerical_jacobian(f_two, (XV, YV), 0), "jacobian wrt x")
    assert_close(jy.numpy(), numerical_jacobian(f_two, (XV, YV), 1), "jacobian wrt y")


def test_hessian():
    hess = F.hessian(f_scalar, dt.tensor(XV))
    expected = numerical_jacobian(dt.grad(f_scalar), (XV,))
    assert hess.shape == (3, 3)
    assert_close(hess.numpy(), expected, "hessian", rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hess.numpy(), hess.numpy().T, atol=1e-12)


def test_hessian_of_several_inputs_is_a_tuple_of_tuples():
    def g(x, y):
        return (x * y * x).sum() + dt.sin(y).sum()

    (hxx, hxy), (hyx, hyy) = F.hessian(g, (dt.tensor(XV), dt.tensor(YV)))
    np.testing.assert_allclose(hxx.numpy(), np.diag(2 * YV))
    np.testing.assert_allclose(hxy.numpy(), np.diag(2 * XV))
    np.testing.assert_allclose(hyx.numpy(), np.diag(2 * XV))
    np.testing.assert_allclose(hyy.numpy(), np.diag(-np.sin(YV)), atol=1e-15)


def test_jvp_and_vjp():
    v = np.array([0.3, -0.7, 1.1])
    out, tangent = F.jvp(f_vec, dt.tensor(XV), dt.tensor(v))
    assert_close(out.numpy(), f_vec(XV), "jvp value")
    assert_close(tangent.numpy(), numerical_jvp(f_vec, (XV,), (v,))[0], "jvp")
    out, cotangent = F.vjp(f_vec, dt.tensor(XV), dt.tensor(v))
    assert_close(cotangent.numpy(), numerical_vjp(f_vec, (XV,), v)[0], "vjp")
    out, (bx, by) = F.vjp(lambda x, y: f_two(x, y).sum(), (dt.tensor(XV), dt.tensor(YV)))
    nx, ny = numerical_vjp(lambda x, y: f_two(x, y).sum(), (XV, YV), np.array(1.0))
    assert_close(bx.numpy(), nx, "vjp wrt x")
    assert_close(by.numpy(), ny, "vjp wrt y")


def test_hvp():
    v = np.array([0.3, -0.7, 1.1])
    value, product = F.hvp(f_scalar, dt.tensor(XV), dt.tensor(v))
    assert value.item() == pytest.approx(f_scalar(XV))
    expected = numerical_jvp(dt.grad(f_scalar), (XV,), (v,))[0]
    assert_close(product.numpy(), expected, "hvp", rtol=1e-5, atol=1e-6)


def test_functional_as_torch():
    torch = torch_or_skip()
    TF = torch.autograd.functional
    v = np.array([0.3, -0.7, 1.1])
    ours = [F.jacobian(f_vec, dt.tensor(XV)), F.hessian(f_scalar, dt.tensor(XV)),
            F.vjp(f_vec, dt.tensor(XV), dt.tensor(v))[1], F.jvp(f_vec, dt.tensor(XV), dt.tensor(v))[1],
            F.hvp(f_scalar, dt.tensor(XV), dt.tensor(v))[1]]
    tx, tv = torch.tensor(XV), torch.tensor(v)
    tf_vec = lambda x: torch.sin(x) * x.sum() + x.tanh() * x.flip(0)  # noqa: E731
    tf_scalar = lambda x: (x ** 3).sum() + x[0] * x[1] * x[2] + torch.exp(x * 0.5).sum()  # noqa: E731
    theirs = [TF.jacobian(tf_vec, tx), TF.hessian(tf_scalar, tx), TF.vjp(tf_vec, tx, tv)[1],
              TF.jvp(tf_vec, tx, tv)[1], TF.hvp(tf_scalar, tx, tv)[1]]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


# ---- autograd.backward and the functional API on tensors ------------------------------------------------
def test_autograd_backward():
    x = leaf([1.0, 2.0])
    dt.autograd.backward(x * x, dt.tensor(np.array([1.0, -1.0])))
    assert x.grad.tolist() == [2.0, -4.0]
    dt.autograd.backward((x * 3).sum())
    assert x.grad.tolist() == [5.0, -1.0]


def loss(w):
    """Written with tensor methods, so the same body runs eagerly and under tracing."""
    return (w.tanh() * w).sum() + w.norm() + w.relu().mean()


def loss_grad(w):
    r = np.sqrt(np.sum(w * w))
    return np.tanh(w) + w / np.cosh(w) ** 2 + w / r + (w > 0) / w.size


def test_tensors_in_the_functional_api_give_numpy():
    wv = np.array([0.5, -1.0, 2.0])
    for w in (dt.tensor(wv), leaf(wv)):  # requiring grad or not, a tensor is read as its array
        g = dt.grad(loss)(w)
        assert type(g) is np.ndarray and g.dtype == np.float64
        np.testing.assert_allclose(g, loss_grad(wv), rtol=1e-12)
        value = dt.jit(loss)(w)
        assert isinstance(value, (np.ndarray, np.generic, float)) and not isinstance(value, dt.Tensor)
        assert value == pytest.approx(loss(dt.tensor(wv)).item(), rel=1e-12)
        out, tangent = dt.jvp(loss, (w,), (dt.tensor(np.ones(3)),))
        assert not isinstance(out, dt.Tensor) and not isinstance(tangent, dt.Tensor)
        assert float(tangent) == pytest.approx(loss_grad(wv).sum(), rel=1e-12)
        doubled = dt.jit(lambda t: t * 2)(w)
        assert type(doubled) is np.ndarray and doubled.tolist() == [1.0, -2.0, 4.0]
    assert w.grad is None  # the functional API never touches .grad


def test_eager_and_functional_gradients_agree():
    wv = np.array([0.5, -1.0, 2.0])
    w = leaf(wv)
    loss(w).backward()
    np.testing.assert_allclose(w.grad.numpy(), dt.grad(loss)(wv), rtol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), loss_grad(wv), rtol=1e-12)


def test_numpy_of_a_detached_tensor():
    w = leaf([1.0, 2.0])
    arr = np.asarray(w.detach())
    assert type(arr) is np.ndarray and arr.tolist() == [1.0, 2.0]
    assert np.sin(w.detach()).tolist() == np.sin([1.0, 2.0]).tolist()
