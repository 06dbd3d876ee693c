"""nn.Module and nn.Parameter: registration by assignment, traversal order and names, train/eval, zero_grad,
state_dict / load_state_dict (round trip, strict errors that leave the module untouched), dtype conversion,
Sequential's list behaviour, and the printed tree (compared with torch's where PyTorch is installed)."""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import dualtape as dt
from dualtape import nn
from testkit import torch_or_skip


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(dt.tensor([2.0]))
        self.inner = nn.Linear(2, 2)
        self.register_buffer("count", dt.zeros(1))
        self.note = "plain attribute"

    def forward(self, x):
        return self.inner(x) * self.scale


def test_assignment_registers_parameters_buffers_and_children_in_order():
    block = Block()
    assert [name for name, _ in block.named_parameters()] == ["scale", "inner.weight", "inner.bias"]
    assert [name for name, _ in block.named_buffers()] == ["count"]
    assert [name for name, _ in block.named_children()] == ["inner"]
    assert [type(m).__name__ for m in block.modules()] == ["Block", "Linear"]
    assert [name for name, _ in block.named_modules()] == ["", "inner"]
    assert list(block.parameters(recurse=False)) == [block.scale]
    assert block.note == "plain attribute" and "note" not in block._parameters
    assert block(dt.ones(3, 2)).shape == (3, 2)


def test_a_shared_parameter_or_module_is_listed_once():
    layer = nn.Linear(2, 2)
    model = nn.Sequential(layer, nn.Tanh(), layer)
    assert len(list(model.parameters())) == 2
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.children())) == 2


def test_reassigning_and_deleting_attributes():
    block = Block()
    block.scale = nn.Parameter(dt.tensor([3.0]))
    assert block.scale.item() == 3.0
    block.scale = None
    assert block.scale is None and [n for n, _ in block.named_parameters()][0] == "inner.weight"
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        block.scale = dt.tensor([1.0])
    del block.inner
    assert not hasattr(block, "inner") and list(block.children()) == []
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'missing'"):
        _ = block.missing


def test_assigning_a_parameter_before_init_is_explained():
    class Forgetful(nn.Module):
        def __init__(self):
            self.weight = nn.Parameter(dt.ones(2))

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call .*super\(\).__init__\(\)"):
        Forgetful()


def test_register_methods_validate_names_and_values():
    module = nn.Module()
    module.register_parameter("w", nn.Parameter(dt.ones(1)))
    with pytest.raises(KeyError, match="contain"):
        module.register_parameter("a.b", nn.Parameter(dt.ones(1)))
    with pytest.raises(TypeError, match="dt.nn.Parameter or None required"):
        module.register_parameter("v", dt.ones(1))
    with pytest.raises(KeyError, match="already exists"):
        module.register_buffer("forward", dt.ones(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        module.add_module("child", 3)
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        module(dt.ones(1))


def test_train_and_eval_set_the_flag_on_every_module():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    assert all(m.training for m in model.modules())
    assert model.eval() is model and not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="boolean"):
        model.train("no")


def test_zero_grad_to_none_or_to_zeros():
    model = nn.Linear(3, 1)
    model(dt.ones(2, 3)).sum().backward()
    grad = model.weight.grad
    model.zero_grad(set_to_none=False)
    assert model.weight.grad is grad and not grad.numpy().any()
    model.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = nn.Parameter(dt.tensor([1.0, 2.0]))
    assert isinstance(p, dt.Tensor) and p.requires_grad and p.is_leaf and p.dtype == np.float32
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert not nn.Parameter(dt.ones(2), requires_grad=False).requires_grad
    source = dt.zeros(2)
    shared = nn.Parameter(source)
    with dt.no_grad():
        shared.add_(1.0)
    assert source.tolist() == [1.0, 1.0]  # built from a tensor, a Parameter shares its storage
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(dt.tensor([1, 2]))
    (p * p).sum().backward()
    assert p.grad.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="leaf"):
        p.add_(1.0)  # outside no_grad


def test_deepcopy_and_pickle_make_independent_parameters():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh())
    model(dt.ones(1, 2)).sum().backward()  # (the parameters now have grads and graph bookkeeping)
    copied = copy.deepcopy(model)
    assert copied[0].weight is not model[0].weight and isinstance(copied[0].weight, nn.Parameter)
    copied(dt.ones(1, 2)).sum().backward()  # accumulates into the copy's grads only
    np.testing.assert_allclose(copied[0].weight.grad.numpy(), 2 * model[0].weight.grad.numpy())
    with dt.no_grad():
        copied[0].bias.add_(1.0)
    assert not np.array_equal(copied[0].bias.detach().numpy(), model[0].bias.detach().numpy())
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored[0].weight.detach().numpy(), model[0].weight.detach().numpy())
    assert restored[0].weight.requires_grad and restored[0].weight.grad is None


# ---- state_dict ---------------------------------------------------------------------------------------
def test_state_dict_round_trip_restores_outputs():
    dt.manual_seed(0)
    source = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    state = source.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert not any(v.requires_grad for v in state.values())
    saved = {k: v.clone() for k, v in state.items()}
    target = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 2))
    x = dt.randn(4, 2)
    assert not np.allclose(target(x).detach().numpy(), source(x).detach().numpy())
    result = target.load_state_dict(saved)
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(target(x).detach().numpy(), source(x).detach().numpy())
    assert isinstance(target[0].weight, nn.Parameter) and target[0].weight.requires_grad


def test_state_dict_values_share_storage_and_include_buffers():
    block = Block()
    state = block.state_dict()
    assert list(state) == ["scale", "count", "inner.weight", "inner.bias"]
    with dt.no_grad():
        block.scale.fill_(5.0)
    assert state["scale"].item() == 5.0


def test_load_state_dict_errors_name_every_key_and_leave_the_module_untouched():
    model = nn.Linear(2, 3)
    before = model.weight.detach().numpy().copy()
    bad = {"weight": np.zeros((2, 2), np.float32), "extra": np.zeros(1)}
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(bad)
    message = str(info.value)
    assert message.startswith("Error(s) in loading state_dict for Linear:")
    assert 'Missing key(s) in state_dict: "bias".' in message
    assert 'Unexpected key(s) in state_dict: "extra".' in message
    assert ("size mismatch for weight: copying a param with shape (2, 2) from checkpoint, the shape in current "
            "model is (3, 2).") in message
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)
    result = model.load_state_dict({"weight": np.ones((3, 2)), "extra": 1}, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    assert model.weight.dtype == np.float32 and model.weight.detach().numpy().tolist() == [[1.0, 1.0]] * 3
    with pytest.raises(RuntimeError, match="size mismatch for bias"):  # shapes are checked even when not strict
        model.load_state_dict({"bias": np.ones(2)}, strict=False)


def test_double_converts_parameters_and_buffers():
    block = Block().double()
    assert all(p.dtype == np.float64 for p in block.parameters()) and block.count.dtype == np.float64
    assert block(dt.ones(1, 2, dtype=np.float64)).dtype == np.float64
    assert block.float().scale.dtype == np.float32


# ---- Sequential and printing ----------------------------------------------------------------------------
def test_sequential_indexing_length_iteration_and_names():
    layers = [nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3 and list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2] and head(dt.ones(2)).shape == (4,)
    with pytest.raises(IndexError, match="index 3 is out of range for a Sequential of 3 modules"):
        model[3]
    named = nn.Sequential(OrderedDict(hidden=nn.Linear(2, 2), act=nn.Tanh()))
    assert [n for n, _ in named.named_parameters()] == ["hidden.weight", "hidden.bias"] and named.act is named[1]
    assert len(named.append(nn.Linear(2, 1))) == 3 and named(dt.ones(5, 2)).shape == (5, 1)


EXPECTED_REPR = """Sequential(
  (0): Linear(in_features=2, out_features=8, bias=True)
  (1): ReLU()
  (2): Sequential(
    (0): Linear(in_features=8, out_features=1, bias=False)
    (1): Sigmoid()
  )
)"""


def test_repr_prints_the_module_tree_as_pytorch_does():
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 1, bias=False), nn.Sigmoid()))
    assert repr(model) == EXPECTED_REPR
    assert repr(nn.MSELoss()) == "MSELoss()" and repr(nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    torch = torch_or_skip()
    tnn = torch.nn
    theirs = tnn.Sequential(tnn.Linear(2, 8), tnn.ReLU(), tnn.Sequential(tnn.Linear(8, 1, bias=False), tnn.Sigmoid()))
    assert repr(theirs) == EXPECTED_REPR


def test_reassigning_a_parameter_or_module_keeps_its_place_as_in_torch():
    layer = dt.nn.Linear(3, 2)
    layer.weight = dt.nn.Parameter(dt.zeros(2, 3))
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert list(layer.state_dict()) == ["weight", "bias"]
    model = dt.nn.Sequential(dt.nn.Linear(2, 2), dt.nn.Tanh(), dt.nn.Linear(2, 2))
    model[2].weight = model[0].weight  # tied
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
