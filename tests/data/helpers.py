"""Helpers the data tests share: binomial tolerances and Bayes rules by enumeration."""

import numpy as np

N_MC = 20000


def close(estimate, exact, n=N_MC):
    """Within four binomial standard errors of ``n`` draws."""
    return abs(estimate - exact) <= 4 * np.sqrt(max(exact * (1 - exact), 1e-12) / n) + 1e-9


def enumerate_ceiling(joint, observed_axes):
    """Accuracy of the Bayes rule that sees only ``observed_axes`` of a table whose axis 0 is the label."""
    keep = tuple(range(1, joint.ndim))
    table = joint.sum(axis=tuple(a for a in keep if a not in observed_axes), keepdims=True)
    return float(table.max(axis=0).sum())
