"""Global switches (`dt.config`): compile logging and optimisation on/off."""

from __future__ import annotations

import logging


class Config:
    """`log_compiles`: log every trace with its reason; `optimize`: run the optimisation passes;
    `autograph`: rewrite Python if / while / for on traced values into structured control flow."""

    def __init__(self):
        self.log_compiles = False
        self.optimize = True
        self.autograph = True

    def __repr__(self):
        return f"Config(log_compiles={self.log_compiles}, optimize={self.optimize}, autograph={self.autograph})"


config = Config()
logger = logging.getLogger("dualtape")
