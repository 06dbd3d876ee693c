"""The quadratic loss the optimiser tests step on, and the loop that runs a dualtape optimiser over it."""

import numpy as np

import dualtape as dt
from dualtape import nn

A = np.array([[1.0, 0.5, 2.0], [0.2, 3.0, 1.0]])  # loss(p) = sum(A * p**2 / 2 + B * p): grad = A * p + B
B = np.array([[0.3, -1.0, 0.5], [2.0, 0.1, -0.4]])
P0 = np.array([[1.0, -2.0, 0.5], [0.0, 1.5, -1.0]])


def quadratic_loss(p):
    return (dt.tensor(A) * p * p / 2 + dt.tensor(B) * p).sum()


def take_steps(optimizer, p, steps: int) -> list:
    """`steps` optimiser steps on the quadratic loss of p; p's values after each."""
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        quadratic_loss(p).backward()
        optimizer.step()
        history.append(p.detach().numpy().copy())
    return history


def run_dualtape(optimizer_factory, steps, p0=P0):
    """The parameter after each of `steps` steps from p0 (and the optimiser and parameter)."""
    p = nn.Parameter(dt.tensor(p0))
    optimizer = optimizer_factory([p])
    return take_steps(optimizer, p, steps), optimizer, p
