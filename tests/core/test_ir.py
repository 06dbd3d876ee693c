"""The IR: golden listings of `print(program)`, and `Program.check()` on traced and hand-built programs."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.avals import ShapedArray
from dualtape.core.ir import Eqn, Lit, Namer, Program, Var
from dualtape.core.primitive import REGISTRY

SCALE = np.array([1.0, 2.0, 3.0], np.float32)


def f32(*shape):
    return ShapedArray(shape, np.float32)


def affine(W, b, x):
    h = dnp.tanh(W @ x + b)
    return dnp.sum(h * 2.0, axis=0)


def features(x, idx):
    rows = x[1:, None, idx]
    scaled = rows * SCALE - np.float32(0.5)
    total = scaled.sum(axis=(0, 1), keepdims=True)
    return dnp.astype(total, np.float64) ** 2, {"n": 3}


# ---- golden listings ------------------------------------------------------------------------------------
def test_listing_of_a_small_model_uses_user_names_and_letters():
    program = dt.trace(affine)(np.ones((4, 3), np.float32), np.ones(4, np.float32), np.ones(3, np.float32))
    assert str(program) == """\
program affine(W:f32[4,3], b:f32[4], x:f32[3]):
  a:f32[4] = matmul W x
  c:f32[4] = add a b
  h:f32[4] = tanh c
  d:f32[4] = mul h 2.0
  e:f32[] = reduce_sum[axes=(0,), keepdims=False] d
  return e"""


def test_listing_shows_captures_params_typed_literals_and_literal_outputs():
    program = dt.trace(features)(np.ones((4, 3), np.float32), np.array([0, 2, 1]))
    assert str(program) == """\
program features(x:f32[4,3], idx:i64[3]):
  captures SCALE:f32[3]
  rows:f32[3,1,3] = getitem[index=[1:, None, <index 0>]] x idx
  a:f32[3,1,3] = mul rows SCALE
  scaled:f32[3,1,3] = sub a 0.5:f32
  total:f32[1,1,3] = reduce_sum[axes=(0, 1), keepdims=True] scaled
  b:f64[1,1,3] = convert_element_type[dtype=float64] total
  c:f64[1,1,3] = integer_pow[y=2] b
  return c, 3"""


def _hand_program():
    """Clashing hints, a keyword hint, a digit hint, an unnamed capture, a NumPy literal and a sub-program."""
    p = REGISTRY
    x, x2 = Var(f32(3), "x"), Var(f32(3), "x")
    kw, dig = Var(f32(3), "lambda"), Var(f32(3), "0")
    c, t, w = Var(f32(3)), Var(f32(3)), Var(f32(3))
    u = Var(ShapedArray((3,), np.bool_))
    s, s_out = Var(f32(3), "s"), Var(f32(3))
    body = Program([s], [Eqn(p["sin"], [s], {}, [s_out])], [s_out], name="body")
    eqns = [
        Eqn(p["mul"], [x, Lit(np.float32(-2))], {}, [kw]),
        Eqn(p["add"], [kw, c], {}, [t]),
        Eqn(p["gt"], [t, Lit(0)], {}, [u]),
        Eqn(p["where"], [u, t, x2], {}, [dig]),
        Eqn(p["neg"], [dig], {"body": body, "n": 2}, [w]),
    ]
    return Program([x, x2], eqns, [w, dig, Lit(1.5)], captures=[(c, np.ones(3, np.float32))], name="hand")


def test_listing_of_a_hand_built_program_with_a_sub_program():
    assert str(_hand_program()) == """\
program hand(x:f32[3], x_1:f32[3]):
  captures a:f32[3]
  lambda_:f32[3] = mul x -2.0:f32
  b:f32[3] = add lambda_ a
  c:bool[3] = gt b 0
  _0:f32[3] = where c b x_1
  d:f32[3] = neg[n=2] _0
    body:
      program body(s:f32[3]):
        e:f32[3] = sin s
        return e
  return d, _0, 1.5"""


def test_program_properties_and_repr():
    program = _hand_program()
    assert program.in_avals == [f32(3), f32(3)]
    assert [str(a) for a in program.out_avals] == ["f32[3]", "f32[3]", "f64[]"]
    assert len(program.capture_vars) == 1
    assert repr(program) == "<Program hand: 2 inputs, 5 equations>"


def test_namer_skips_reserved_names_and_keywords():
    namer = Namer(reserved={"a", "b"})
    names = [namer(Var(f32())) for _ in range(3)] + [namer(Var(f32(), "c")), namer(Var(f32(), "x-y"))]
    assert names == ["c", "d", "e", "c_1", "x_y"]
    v = Var(f32())
    assert namer(v) == namer(v) == "f"


def test_namer_runs_past_z_and_skips_keywords():
    namer = Namer()
    names = [namer(Var(f32())) for _ in range(26 * 2)]
    assert names[25:28] == ["z", "aa", "ab"]
    assert "as" not in names and "if" not in names and len(set(names)) == len(names)


def test_namer_numbers_a_repeated_name_in_constant_time_per_name():
    """x, x_1, x_2, ... as before, skipping names already taken, with a bounded number of lookups per name
    (trying x_1, x_2, ... afresh each time made a 100,000-equation program take minutes)."""

    class Counted(set):
        lookups = 0

        def __contains__(self, name):
            Counted.lookups += 1
            return super().__contains__(name)

    namer = Namer(reserved={"x_3"})
    namer.taken = Counted(namer.taken)
    names = [namer(Var(f32(), "x")) for _ in range(5000)]
    assert names[:5] == ["x", "x_1", "x_2", "x_4", "x_5"] and names[-1] == "x_5000"
    namer.taken.add("y_1")
    assert [namer(Var(f32(), "y")) for _ in range(3)] == ["y", "y_2", "y_3"]
    assert len(set(names)) == len(names) and Counted.lookups < 3 * (len(names) + 3)


# ---- check() ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn, args",
    [
        (affine, (np.ones((4, 3), np.float32), np.ones(4, np.float32), np.ones(3, np.float32))),
        (features, (np.ones((4, 3), np.float32), np.array([0, 2, 1]))),
        (lambda x, y: (x * y, dnp.where(x > 0, x, y), x.T @ y.sum(0)), (np.ones((2, 2)), np.ones((2, 2)))),
        (lambda x: x[..., ::2].reshape(-1) + 1, (np.arange(12.0).reshape(3, 4),)),
    ],
)
def test_traced_programs_pass_check(fn, args):
    program = dt.trace(fn)(*args)
    assert program.check() is program


def test_hand_built_program_without_sub_program_passes_check():
    program = _hand_program()
    flat = Program(program.inputs, program.eqns[:4], [program.eqns[3].outs[0]], program.captures)
    flat.check()


def _violations():
    p = REGISTRY
    x, y, s = Var(f32(3), "x"), Var(f32(3), "y"), Var(f32(), "s")
    one = Lit(1.0)
    return {
        "defined twice": (Program([x], [Eqn(p["add"], [x, one], {}, [x])], [x]), "defined twice"),
        "input twice": (Program([x, x], [], [x]), "defined twice"),
        "use before definition": (
            Program([x], [Eqn(p["sin"], [y], {}, [Var(f32(3))]), Eqn(p["add"], [x, one], {}, [y])], [y]),
            r"equation sin uses Var\(y:f32\[3\]\) before it is defined",
        ),
        "undefined output": (Program([x], [], [y]), "program output uses"),
        "wrong declared shape": (
            Program([x], [Eqn(p["add"], [x, one], {}, [Var(f32(4), "z")])], [x]),
            r"output Var\(z:f32\[4\]\) declared f32\[4\], rule gives f32\[3\]",
        ),
        "wrong declared dtype": (
            Program([x], [Eqn(p["add"], [x, one], {}, [Var(ShapedArray((3,), np.float64), "z")])], [x]),
            r"declared f64\[3\], rule gives f32\[3\]",
        ),
        "too many outputs": (
            Program([x], [Eqn(p["sin"], [x], {}, [Var(f32(3)), Var(f32(3))])], [x]),
            "2 outputs, rule gives 1",
        ),
        "operand not an atom": (
            Program([x], [Eqn(p["add"], [x, np.ones(3)], {}, [Var(f32(3))])], [x]),
            "neither Var nor Lit",
        ),
        "capture of the wrong aval": (Program([x], [], [x], captures=[(y, np.ones(4, np.float32))]), "capture"),
        "output not a Var": (
            Program([s], [Eqn(p["sin"], [s], {}, [Lit(np.float32(1))])], [s]),
            "output of sin is not a Var",
        ),
    }


@pytest.mark.parametrize("case", sorted(_violations()))
def test_check_catches_violations(case):
    program, message = _violations()[case]
    with pytest.raises(ValueError, match=message):
        program.check()


def test_check_catches_a_shape_rule_violation_as_a_shape_error():
    x, y = Var(f32(3), "x"), Var(f32(4), "y")
    program = Program([x, y], [Eqn(REGISTRY["add"], [x, y], {}, [Var(f32(4))])], [x])
    with pytest.raises(dt.ShapeError, match=r"add: operands could not be broadcast.*\(3,\) and \(4,\)"):
        program.check()
