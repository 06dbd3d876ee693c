"""Global switches (`dt.config`): compile logging, optimisation and autograph on/off. Only these settings exist:
setting any other name (a typo such as `optimise`) raises, rather than silently changing nothing."""

from __future__ import annotations

import difflib
import logging


class Config:
    """`log_compiles`: log every trace with its reason; `optimize`: run the optimisation passes;
    `autograph`: rewrite Python if / while / for on traced values into structured control flow."""

    SETTINGS = ("autograph", "log_compiles", "optimize")

    def __init__(self):
        self.log_compiles = False
        self.optimize = True
        self.autograph = True

    def __setattr__(self, name: str, value) -> None:
        if name not in self.SETTINGS:
            raise _unknown(name)
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str):  # (called only for names that are not set)
        if name.startswith("__"):
            raise AttributeError(name)
        raise _unknown(name)

    def __repr__(self):
        return f"Config(log_compiles={self.log_compiles}, optimize={self.optimize}, autograph={self.autograph})"


def _unknown(name: str) -> AttributeError:
    """The error for a setting dt.config does not have, naming the nearest ones."""
    near = difflib.get_close_matches(name, Config.SETTINGS, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(n) for n in near)}? " if near else ""
    return AttributeError(f"dt.config has no setting {name!r}; {hint}its settings are "
                          f"{', '.join(Config.SETTINGS)}")


config = Config()
logger = logging.getLogger("dualtape")
