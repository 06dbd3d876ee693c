"""dt.config: its three settings read and set as before; any other name, set or read, is an AttributeError
naming the nearest settings (a typo such as `optimise` never passes silently)."""

import numpy as np
import pytest

import dualtape as dt
import dualtape.numpy as dnp


@pytest.mark.parametrize("typo, nearest", [
    ("optimise", "'optimize'"),
    ("optimize_", "'optimize'"),
    ("autgraph", "'autograph'"),
    ("log_compile", "'log_compiles'"),
])
def test_setting_an_unknown_name_raises_naming_the_nearest(typo, nearest):
    before = repr(dt.config)
    with pytest.raises(AttributeError) as info:
        setattr(dt.config, typo, False)
    message = str(info.value)
    assert f"dt.config has no setting {typo!r}; did you mean {nearest}?" in message
    assert "its settings are autograph, log_compiles, optimize" in message
    assert repr(dt.config) == before and typo not in vars(dt.config)


def test_an_unrelated_name_lists_the_settings_without_a_guess():
    with pytest.raises(AttributeError, match=r"no setting 'backend'; its settings are autograph, log_compiles"):
        dt.config.backend = "cupy"


def test_reading_an_unknown_name_raises_too():
    with pytest.raises(AttributeError, match="did you mean 'optimize'"):
        dt.config.optimise  # noqa: B018
    assert not hasattr(dt.config, "optimise") and getattr(dt.config, "optimise", None) is None


def test_the_settings_still_work(monkeypatch):
    f = lambda x: dnp.sin(x) * 1.0 + 0.0  # noqa: E731
    monkeypatch.setattr(dt.config, "optimize", False)
    assert "*= 1.0" in dt.source(f, np.ones(2), comments=False)
    monkeypatch.setattr(dt.config, "optimize", True)
    assert "1.0" not in dt.source(f, np.ones(2), comments=False)
    monkeypatch.setattr(dt.config, "autograph", False)
    assert dt.config.autograph is False and "autograph=False" in repr(dt.config)
