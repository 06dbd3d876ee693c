from . import neural  # noqa: F401  (softmax, log_softmax, nll_loss: no dnp function binds them)
