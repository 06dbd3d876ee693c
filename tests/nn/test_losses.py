"""The losses of nn.functional and their modules against PyTorch: values and input gradients (after backward with
a random cotangent) for each reduction, float32 and float64, several shapes; class weights, ignore_index (hit and
not hit, every target ignored), label smoothing on index and probability targets, BCE's weight and pos_weight
broadcasting; the fast one-node path of cross_entropy; the errors."""

import warnings

import numpy as np
import pytest

import dualtape as dt
from dualtape import nn
from dualtape.nn import functional as F
from testkit import DTYPE_TOLERANCES, torch_or_skip

REDUCTIONS = ["mean", "sum", "none"]
DTYPES = [np.float32, np.float64]
CLASS_SHAPES = [(5, 4), (3, 4, 2), (4,)]  # (N, C), (N, C, d), one sample (C,)


def against_torch(ours, theirs, x, *others, dtype, **kwargs):
    """ours(input, *others, **kwargs) and theirs(...) on the same numbers: the values and input.grad after
    backward with one random cotangent (others: arrays, tensors of their own dtype, or None)."""
    torch = torch_or_skip()
    x = np.asarray(x, dtype=dtype)
    a, b = dt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    mine = [None if o is None else dt.tensor(o) for o in others]
    yours = [None if o is None else torch.tensor(o) for o in others]
    named_mine = {k: (dt.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    named_yours = {k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    out, expected = ours(a, *mine, **named_mine), theirs(b, *yours, **named_yours)
    assert out.dtype == dtype and out.shape == tuple(expected.shape)
    rtol, atol = DTYPE_TOLERANCES[np.dtype(dtype)]
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=rtol * 10, atol=atol * 10)
    cotangent = np.random.default_rng(0).standard_normal(out.shape).astype(dtype)
    (out * dt.tensor(cotangent)).sum().backward()
    (expected * torch.tensor(cotangent)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol * 10, atol=atol * 10)
    return out


def class_case(shape, dtype, ignore, seed=0):
    """Logits of shape, class-index targets (with some set to `ignore`, where not None), per-class weights."""
    rng = np.random.default_rng(seed)
    classes = shape[1] if len(shape) > 1 else shape[0]
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    target = rng.integers(0, classes, target_shape)
    if ignore is not None:
        target = np.where(rng.random(target_shape) < 0.4, ignore, target)
        target.flat[0] = ignore  # (hit at least once)
    return (rng.standard_normal(shape).astype(dtype), np.asarray(target),
            (rng.random(classes) + 0.5).astype(dtype))


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore", [None, 1, -100], ids=["not-hit", "hit-in-range", "hit-minus-100"])
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weighted"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_with_class_indices(shape, dtype, reduction, ignore, weighted, smoothing):
    torch = torch_or_skip()
    x, target, weight = class_case(shape, dtype, ignore)
    kwargs = dict(reduction=reduction, label_smoothing=smoothing, ignore_index=-100 if ignore is None else ignore)
    against_torch(F.cross_entropy, torch.nn.functional.cross_entropy, x, target, weight if weighted else None,
                  dtype=dtype, **kwargs)


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weighted"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_with_class_probabilities(shape, dtype, reduction, weighted, smoothing):
    torch = torch_or_skip()
    rng = np.random.default_rng(1)
    x, _, weight = class_case(shape, dtype, None)
    probs = rng.random(shape).astype(dtype)
    probs /= probs.sum(1 if len(shape) > 1 else 0, keepdims=True)
    against_torch(F.cross_entropy, torch.nn.functional.cross_entropy, x, probs, weight if weighted else None,
                  dtype=dtype, reduction=reduction, label_smoothing=smoothing, ignore_index=-3)


@pytest.mark.parametrize("shape", CLASS_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore", [None, 2, -100], ids=["not-hit", "hit-in-range", "hit-minus-100"])
@pytest.mark.parametrize("weighted", [False, True], ids=["", "weighted"])
def test_nll_loss(shape, dtype, reduction, ignore, weighted):
    torch = torch_or_skip()
    x, target, weight = class_case(shape, dtype, ignore, seed=2)
    log_probs = x - np.log(np.exp(x).sum(1 if len(shape) > 1 else 0, keepdims=True))
    against_torch(F.nll_loss, torch.nn.functional.nll_loss, log_probs, target, weight if weighted else None,
                  dtype=dtype, reduction=reduction, ignore_index=-100 if ignore is None else ignore)


@pytest.mark.parametrize("weighted", [False, True], ids=["", "weighted"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_every_target_ignored_gives_nan_mean_and_zero_gradients(weighted, smoothing):
    torch = torch_or_skip()
    x, _, weight = class_case((3, 4), np.float64, None)
    target = np.full(3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (0 / 0 is PyTorch's nan, quietly, forward and back)
        out = against_torch(F.cross_entropy, torch.nn.functional.cross_entropy, x, target,
                            weight if weighted else None, dtype=np.float64, ignore_index=3, label_smoothing=smoothing)
    assert np.isnan(out.item())
    for reduction in ("sum", "none"):
        loss = F.cross_entropy(dt.tensor(x), dt.tensor(target), ignore_index=3, reduction=reduction)
        np.testing.assert_array_equal(loss.numpy(), np.zeros(() if reduction == "sum" else 3))


def test_without_weights_or_smoothing_the_loss_is_one_nll_loss_node():
    """No weight, no smoothing: nll_loss_p (one NllLossBackward0, as PyTorch), ignored targets or not (the row
    masks them). Weights and smoothing are compositions of tensor operations."""
    x, target, weight = class_case((5, 4), np.float32, None)
    x, target = dt.tensor(x, requires_grad=True), dt.tensor(target)
    hit = dt.tensor(np.where(np.arange(5) == 2, -100, target.numpy()))
    one_node = [F.cross_entropy(x, target), F.cross_entropy(x, target, ignore_index=7),
                F.nll_loss(x, target, reduction="sum"), nn.CrossEntropyLoss()(x, target),
                F.cross_entropy(x, hit), F.nll_loss(x, hit), F.cross_entropy(x, target, ignore_index=int(target[0]))]
    assert {loss.grad_fn.name() for loss in one_node} == {"NllLossBackward0"}
    for loss in (F.cross_entropy(x, target, dt.tensor(weight)), F.cross_entropy(x, target, label_smoothing=0.1)):
        assert loss.grad_fn.name() != "NllLossBackward0"


def test_compiled_weighted_and_ignoring_losses_equal_eager():
    x, target, weight = class_case((6, 3), np.float64, 1, seed=3)
    x, target, weight = dt.tensor(x), dt.tensor(target), dt.tensor(weight)

    padded = dt.tensor(np.where(target.numpy() == 1, -100, target.numpy()))
    ones = dt.ones(3, dtype=np.float64)

    def loss(x, target, padded):
        return (F.cross_entropy(x, target, weight, ignore_index=1, label_smoothing=0.2)
                + F.nll_loss(F.log_softmax(x, 1), target, ignore_index=1)
                + F.cross_entropy(x, padded, ones) + F.cross_entropy(x, padded))  # (-100: masked when traced too)

    expected = loss(x, target, padded).item()
    assert expected == pytest.approx(loss(x, target, target).item() - 2 * F.cross_entropy(x, target).item()
                                     + 2 * F.cross_entropy(x, target, ignore_index=1).item(), rel=1e-12)
    assert dt.compile(loss)(x, target, padded).item() == pytest.approx(expected, rel=1e-12)


SHAPES = [(4, 3), (2, 3, 2), ()]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss, options", [("l1_loss", {}), ("mse_loss", {}), ("smooth_l1_loss", {}),
                                           ("smooth_l1_loss", {"beta": 0.5}), ("smooth_l1_loss", {"beta": 0.0}),
                                           ("huber_loss", {}), ("huber_loss", {"delta": 0.4}),
                                           ("huber_loss", {"delta": 2.5})])
def test_regression_losses(shape, dtype, reduction, loss, options):
    torch = torch_or_skip()
    rng = np.random.default_rng(4)
    x, y = 2 * rng.standard_normal(shape), 2 * rng.standard_normal(shape).astype(dtype)
    against_torch(getattr(F, loss), getattr(torch.nn.functional, loss), x, y, dtype=dtype, reduction=reduction,
                  **options)


@pytest.mark.parametrize("loss", ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_losses_warn_as_pytorch_when_the_target_broadcasts(loss):
    torch = torch_or_skip()
    x, y = np.arange(3.0).reshape(3, 1), np.array([0.5, -1.0, 4.0])
    with pytest.warns(UserWarning) as record:
        against_torch(getattr(F, loss), getattr(torch.nn.functional, loss), x, y, dtype=np.float64)
    ours = [w for w in record if "target size (3,) that is different to the input size (3, 1)" in str(w.message)]
    assert len(ours) == 1 and ours[0].filename == __file__  # (pointing at the caller's line)
    assert any("torch.Size([3])" in str(w.message) for w in record)  # (PyTorch warns too)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(F, loss)(dt.tensor(x), dt.tensor(y.reshape(3, 1)))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, "same", "last"])
def test_binary_cross_entropy(shape, dtype, reduction, weight_shape):
    torch = torch_or_skip()
    rng = np.random.default_rng(5)
    p, t = rng.uniform(0.02, 0.98, shape), rng.random(shape).astype(dtype)
    weight = {None: None, "same": rng.random(shape), "last": rng.random(shape[-1:])}[weight_shape]
    weight = None if weight is None else weight.astype(dtype)
    against_torch(F.binary_cross_entropy, torch.nn.functional.binary_cross_entropy, p, t, weight, dtype=dtype,
                  reduction=reduction)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_at_0_and_1_is_pytorchs(dtype, reduction):
    """At probabilities of exactly 0 and 1 and below e^-100, where each log is clamped at -100, the loss and
    PyTorch's backward: the input's cotangent (x - t) / max(x (1 - x), 1e-12) (0 for a right 0 or 1, about
    1e12 for a wrong one: a composition of clamped logs gives 0 there) and the target's, -logit(x) (+-inf).
    One BinaryCrossEntropyBackward0 node, as PyTorch's, for "none"."""
    torch = torch_or_skip()
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-45, 0.5, 0.25], dtype)
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.3, 0.8], dtype)
    x, y = dt.tensor(p, requires_grad=True), dt.tensor(t, requires_grad=True)
    tx, ty = torch.tensor(p, requires_grad=True), torch.tensor(t, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (the target's cotangent: log 0, as NumPy warns)
        ours = F.binary_cross_entropy(x, y, reduction=reduction)
        theirs = torch.nn.functional.binary_cross_entropy(tx, ty, reduction=reduction)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)  # [0, 0, 100, 100,
        ours.sum().backward()                                                                  # ...]
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-6)
    assert abs(x.grad.numpy()[3]) > 1e10 and x.grad.numpy()[0] == x.grad.numpy()[1] == 0
    if reduction == "none":
        assert ours.grad_fn.name() == theirs.grad_fn.name() == "BinaryCrossEntropyBackward0"


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 3)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape", [None, "same", "column"])
@pytest.mark.parametrize("pos_weight_shape", [None, "per-class", "same"])
def test_binary_cross_entropy_with_logits(shape, dtype, reduction, weight_shape, pos_weight_shape):
    """pos_weight of one value per class (the last dimension) broadcasts over the batch; logits up to ±60."""
    torch = torch_or_skip()
    rng = np.random.default_rng(6)
    x, t = 20 * rng.standard_normal(shape), rng.random(shape).astype(dtype)
    t[..., 0] = np.round(t[..., 0])  # (hard labels too)
    weight = {None: None, "same": rng.random(shape), "column": rng.random(shape[:-1] + (1,))}[weight_shape]
    pos_weight = {None: None, "per-class": 3 * rng.random(shape[-1:]), "same": 3 * rng.random(shape)}[
        pos_weight_shape]
    weight, pos_weight = (None if w is None else w.astype(dtype) for w in (weight, pos_weight))
    against_torch(F.binary_cross_entropy_with_logits, torch.nn.functional.binary_cross_entropy_with_logits, x, t,
                  weight, dtype=dtype, reduction=reduction, pos_weight=pos_weight)


def test_binary_cross_entropy_with_logits_is_stable_for_huge_logits():
    x = dt.tensor([1000.0, -1000.0, 1000.0, -1000.0, 0.0], requires_grad=True)
    t = dt.tensor([1.0, 0.0, 0.0, 1.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [0.0, 0.0, 1000.0, 1000.0, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 1.0, -1.0, -0.5])


def test_modules_match_pytorch_modules_and_keep_weights_as_buffers():
    torch = torch_or_skip()
    x, target, weight = class_case((5, 4), np.float64, 2)
    probs, pos = 1 / (1 + np.exp(-x)), np.random.default_rng(7).random((5, 4))
    cases = [("CrossEntropyLoss", dict(weight=weight, ignore_index=2, label_smoothing=0.1, reduction="sum"), target),
             ("NLLLoss", dict(weight=weight, ignore_index=2), target), ("L1Loss", {}, pos),
             ("SmoothL1Loss", dict(beta=0.3), pos), ("HuberLoss", dict(delta=0.3, reduction="none"), pos),
             ("BCEWithLogitsLoss", dict(weight=weight, pos_weight=weight + 1), pos)]
    for name, options, y in cases:
        ours = getattr(nn, name)(**{k: dt.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()})
        theirs = getattr(torch.nn, name)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                            for k, v in options.items()})
        against_torch(ours, theirs, x, y, dtype=np.float64)
        assert repr(ours) == repr(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
    against_torch(nn.BCELoss(dt.tensor(weight)), torch.nn.BCELoss(torch.tensor(weight)), probs, pos,
                  dtype=np.float64)
    assert list(nn.BCELoss(dt.tensor(weight)).state_dict()) == ["weight"]


def test_targets_equal_to_ignore_index_may_lie_outside_the_classes():
    logits = dt.zeros(4, 3)
    assert F.cross_entropy(logits, dt.tensor([0, 7, 2, 7]), ignore_index=7, reduction="sum").item() == \
        pytest.approx(2 * np.log(3))
    with pytest.raises(IndexError, match="target 5 is out of bounds for 3 classes .*ignore_index is 7"):
        F.cross_entropy(logits, dt.tensor([0, 7, 5, 7]), ignore_index=7)
    with pytest.raises(IndexError, match="target -1 is out of bounds"):
        F.nll_loss(logits, dt.tensor([-100, -1, 0, 0]))


def test_loss_errors_name_the_op_the_shapes_and_the_fix():
    logits, labels, probs = dt.zeros(4, 3), dt.tensor([0, 1, 2, 1]), dt.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"cross_entropy: weight .* 3 classes, got a weight of shape \(2,\)"):
        F.cross_entropy(logits, labels, dt.ones(2))
    with pytest.raises(ValueError, match=r"nll_loss: weight .* 3 classes, got a weight of shape \(3, 1\)"):
        F.nll_loss(logits, labels, dt.ones(3, 1))
    with pytest.raises(ValueError, match=r"cross_entropy: weight .* of shape \(4,\)"):
        F.cross_entropy(logits, probs, dt.ones(4))
    with pytest.raises(TypeError, match="weight has dtype float64 but the input has dtype float32"):
        F.cross_entropy(logits, labels, dt.ones(3, dtype=np.float64))
    with pytest.raises(TypeError, match=r"reduction='sum'"):
        F.cross_entropy(logits, labels, "sum")
    with pytest.raises(ValueError, match="ignore_index .* not supported for class-probability"):
        F.cross_entropy(logits, probs, ignore_index=0)
    for smoothing in (1.5, -0.1):
        with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
            F.cross_entropy(logits, labels, label_smoothing=smoothing)
        with pytest.raises(ValueError, match="label_smoothing"):
            nn.CrossEntropyLoss(label_smoothing=smoothing)
    with pytest.raises(ValueError, match="beta must be non-negative"):
        F.smooth_l1_loss(logits, logits, beta=-1.0)
    for delta in (0.0, -1.0):
        with pytest.raises(ValueError, match="delta must be positive"):
            F.huber_loss(logits, logits, delta=delta)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: target of shape \(4, 1\) .* \(4,\)"):
        F.binary_cross_entropy(dt.full((4,), 0.5), dt.ones(4, 1))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target of shape \(4, 1\)"):
        F.binary_cross_entropy_with_logits(dt.zeros(4), dt.ones(4, 1))
    with pytest.raises(ValueError, match="between 0 and 1.*with_logits"):
        F.binary_cross_entropy(dt.tensor([0.5, 1.5]), dt.ones(2))
    with pytest.raises(ValueError, match=r"weight of shape \(4,\) does not broadcast to the input's shape \(4, 3\)"):
        F.binary_cross_entropy(probs, probs, dt.ones(4))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2, 4, 3\) does not broadcast"):
        F.binary_cross_entropy_with_logits(logits, probs, pos_weight=dt.ones(2, 4, 3))
    for loss in (F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.binary_cross_entropy,
                 F.binary_cross_entropy_with_logits, F.cross_entropy):
        with pytest.raises(ValueError, match="'average' is not a valid value for reduction"):
            loss(probs, probs, reduction="average")
    with pytest.raises(ValueError, match="reduction"):
        F.nll_loss(logits, labels, reduction="average")
    for module in ("L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "NLLLoss"):
        with pytest.raises(ValueError, match="reduction"):
            getattr(nn, module)(reduction="average")
