"""Helpers shared by the sampler tests (vMF and Power Spherical)."""

from __future__ import annotations

import torch


def dtheta_dkappa_from_backward(backward_op, m, kappa, theta, dtype=torch.float64):
    """d theta/d kappa through a sampler's backward op (the vMF's or the Power
    Spherical's): with loc = e1 (R = diag(1, -1, ...)), z = (cos, -sin, 0..)
    and grad_z = (-sin, -cos, 0..), grad_kappa = d theta/d kappa."""
    kappa = torch.as_tensor(kappa, dtype=torch.float64).to(dtype)
    theta = torch.as_tensor(theta, dtype=torch.float64).to(dtype)
    n = theta.numel()
    loc = torch.zeros(n, m, dtype=dtype)
    loc[:, 0] = 1
    z = torch.zeros(n, m, dtype=dtype)
    z[:, 0], z[:, 1] = torch.cos(theta), -torch.sin(theta)
    gz = torch.zeros(n, m, dtype=dtype)
    gz[:, 0], gz[:, 1] = -torch.sin(theta), -torch.cos(theta)
    return backward_op(gz, z, theta, loc, kappa, True)[1]
