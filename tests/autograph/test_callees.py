"""What autograph converts besides the function handed to a transform: callable objects (their class's
`__call__`), methods reached through any object (`m.forward(x)`), functions of the user's own modules
(`helpers.f(x)`), `functools.wraps` wrappers and the functions they wrap, recursive functions and cycles of
objects; each gives the numbers of the same code run as plain Python, and of JAX where JAX can run it. Library
code (NumPy, the standard library, dualtape) is left alone, and each function is rewritten once."""

import functools
import importlib
import importlib.util
import textwrap

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp
from dualtape.autograph.convert import convert
from gradcheck import assert_close, numerical_vjp

convert_module = importlib.import_module("dualtape.autograph.convert")

X = np.array([0.3, -0.2, 0.5])
POINTS = (X, -X, np.array([-0.4, 1.5, 0.1]))


def check(f, points=POINTS, **jit_kw):
    """dt.jit(f) and the gradient of sum(f) agree with f run as plain Python (and finite differences)."""
    jf = dt.jit(f, **jit_kw)
    for x in points:
        assert_close(jf(x), f(x), f"value at {x}", rtol=1e-14)
        expected = numerical_vjp(lambda v: np.sum(f(v)), (x,), np.array(1.0))[0]
        assert_close(dt.grad(lambda v: dnp.sum(f(v)))(x), expected, f"grad at {x}")
    return jf


def branch(x):
    if x[0] > 0:
        r = x * 2
    else:
        r = x * 3
    return r


class Model:
    def __init__(self, k):
        self.k = k

    def __call__(self, x):
        if x[0] > 0:
            r = x * self.k
        else:
            r = dnp.sin(x) * 3
        return r

    def forward(self, x):
        if x.sum() > 0:
            y = x * self.k
        else:
            y = -x
        return y


model = Model(2.0)


# ---- callable objects and methods reached through objects ----------------------------------------------
def test_a_callable_object_is_converted_through_its_class_call():
    check(model)
    check(lambda v: model(v) + 1)  # called by name inside a converted function
    assert dt.autograph_source(model).startswith("def __call__(self, x):")


def test_methods_called_through_an_object_are_converted():
    def through_global(x):
        return model.forward(x) * 2

    def through_argument(x, m):
        return m.forward(x) + m(x)

    class Net:
        def __init__(self):
            self.layers = [Model(3.0), Model(0.5)]
            self.head = Model(-1.0)

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            return self.head.forward(x) + self.layers[0].forward(x)

    check(through_global)
    check(lambda v: through_argument(v, Model(1.5)))
    check(Net())
    assert "ag__.converted(model.forward)(x)" in dt.autograph_source(through_global)


def test_functions_of_a_users_module_are_converted(tmp_path):
    path = tmp_path / "autograph_user_helpers.py"
    path.write_text(textwrap.dedent("""
        import numpy as np

        def f(x):
            if x[0] > 0:
                r = x * 2
            else:
                r = x * 3
            return r + np.sum(x)
    """))
    spec = importlib.util.spec_from_file_location("autograph_user_helpers", path)
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)

    def uses_module(x):
        return helpers.f(x) * 2

    # the converted function sees the module through its globals (as `import helpers` would give it)
    uses_module.__globals__["helpers"] = helpers
    try:
        check(uses_module)
        source = dt.autograph_source(uses_module)
    finally:
        del uses_module.__globals__["helpers"]
    assert "ag__.converted(helpers.f)(x)" in source


def test_library_calls_and_array_methods_are_left_as_written():
    def f(x):
        return np.sum(x) + dnp.linalg.norm(x) + x.sum() + dt.stop_gradient(x).mean() + len(textwrap.dedent("a"))

    source = dt.autograph_source(f)
    assert "return np.sum(x) + dnp.linalg.norm(x) + x.sum() + dt.stop_gradient(x).mean() + " in source
    assert "len(textwrap.dedent('a'))" in source
    assert_close(dt.jit(f)(X), f(X), "value")


def test_library_functions_and_objects_are_not_converted():
    for fn in (np.sum, textwrap.dedent, dnp.sin, dt.grad, np.vectorize(abs), functools.partial(np.add, 1.0),
               functools.lru_cache(maxsize=None)(abs), Model, print):
        assert convert(fn) is fn, fn
    jitted = dt.jit(branch)
    assert convert(jitted) is jitted  # dualtape's own callable objects are left as they are


# ---- functools.wraps -----------------------------------------------------------------------------------
def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


def clipped(limit):
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(x):
            out = fn(x)
            if out.sum() > limit:  # the wrapper's own traced condition
                out = out * 0.5
            return out
        return wrapper
    return decorate


@logged
def decorated(x):
    return branch(x) + 1


@clipped(1.0)
@logged
def stacked(x):
    if x[1] > 0:
        y = x ** 2
    else:
        y = x * 4
    return y


def test_functools_wraps_wrappers_and_the_functions_they_wrap_are_converted():
    check(decorated)
    check(stacked)
    wrapper = convert(stacked)
    assert wrapper is not stacked and wrapper.__wrapped__ is stacked and wrapper.__name__ == "stacked"
    source = dt.autograph_source(stacked)
    assert source.startswith("def wrapper(x):") and "ag__.converted(fn)(x)" in source


# ---- recursion, cycles and caching ---------------------------------------------------------------------
def halve_until(x, depth):
    if depth == 0:
        return x
    if x.sum() > 0:
        x = x * 0.5
    else:
        x = x + 1.0
    return halve_until(x, depth - 1)


def ping(x, n):
    if x.sum() > 0:
        x = x - 0.3
    else:
        x = x * 2
    return x if n == 0 else pong(x, n - 1)


def pong(x, n):
    x = x * 1.5 if x[0] > 0 else -x
    return x if n == 0 else ping(x, n - 1)


class Cell:
    def __init__(self, k):
        self.k, self.next = k, None

    def __call__(self, x, depth):
        if x.sum() > 0:
            x = x * self.k
        else:
            x = x - self.k
        return x if depth == 0 else self.next(x, depth - 1)


def test_recursion_and_cycles_of_objects_terminate_and_match_python():
    a, b = Cell(2.0), Cell(-0.5)
    a.next, b.next = b, a  # a cycle of callable objects
    for f in (halve_until, ping, a):
        jf = dt.jit(f, static_argnums=1)
        for x in POINTS:
            assert_close(jf(x, 5), f(x, 5), f"{f} at {x}", rtol=1e-14)

    def nested(x, n):  # a recursive function that is a closure of itself
        def go(v, k):
            if v.sum() > 0:
                v = v * 0.9
            return v if k == 0 else go(v, k - 1)
        return go(x, n)

    assert_close(dt.jit(nested, static_argnums=1)(X, 4), nested(X, 4), "closure recursion")


def test_each_function_is_rewritten_once(monkeypatch):
    rewritten = []
    original = convert_module.converted_tree
    monkeypatch.setattr(convert_module, "converted_tree", lambda fn: rewritten.append(fn) or original(fn))
    monkeypatch.setattr(convert_module, "_cache", {})

    def loop(x):
        for _ in range(4):  # unrolled: four calls of each callee
            x = model.forward(x) + helper(x) + model(x)
        return x

    def helper(x):
        return x * 2 if x.sum() > 0 else x

    f = dt.jit(loop)
    for n in (2, 3, 4):  # three signatures: three traces
        assert_close(f(np.full(n, 0.1)), loop(np.full(n, 0.1)), f"n={n}")
    assert f.trace_count == 3
    names = sorted(fn.__name__ for fn in rewritten)
    assert names == ["__call__", "forward", "helper", "loop"], names
    assert convert(helper).__code__ is convert(helper).__code__


# ---- against JAX ---------------------------------------------------------------------------------------
def test_a_model_object_matches_jax(jax):
    jnp = jax.numpy

    class JaxModel:  # the same model, its branch written as jnp.where (JAX cannot trace a Python if)
        def __call__(self, x):
            return jnp.where(x[0] > 0, x * 2.0, jnp.sin(x) * 3)

    theirs = jax.grad(lambda v: jnp.sum(JaxModel()(v)))
    for x in POINTS:
        assert_close(dt.jit(model)(x), np.asarray(jax.jit(JaxModel())(x)), f"value at {x}")
        assert_close(dt.grad(lambda v: dnp.sum(model(v)))(x), np.asarray(theirs(x)), f"grad at {x}")
