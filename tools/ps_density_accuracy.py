"""Maximum error of the Power Spherical density ops against mpmath
(tests/ps_mp_reference.py) per dtype, and of the literal lgamma/digamma
differences (hvae_ext.reference.power_spherical) in float64, over the grid of
docs/power_spherical.md. Run from the repository root after building in place:

    python tools/ps_density_accuracy.py
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.getcwd())
sys.path.insert(0, os.path.join(os.getcwd(), "tests"))

import torch  # noqa: E402

from hvae_ext.distributions import (  # noqa: E402
    power_spherical_entropy,
    power_spherical_kl_uniform,
    power_spherical_log_normalizer,
)
from hvae_ext.reference.power_spherical import ps_entropy_reference, ps_log_normalizer_reference  # noqa: E402
from ps_mp_reference import ps_kappa_reference as ref  # noqa: E402

MS = [2, 3, 10, 100, 1000, 10000]
KAPPAS = [0.0, 1e-10, 1e-3, 1.0, 10.0, 1e3, 1e6, 0.37, 4.5, 9.4, 9.6, 45.0, 49.5, 50.5, 2e4]
RELATIVE = ("kl_uniform", "d_entropy")  # errors relative to |value|; the others to max(1, |value|)


def main() -> None:
    for dtype in (torch.float64, torch.float32):
        worst = {}
        for m in MS:
            k = torch.tensor(KAPPAS, dtype=dtype)
            kr = k.clone().requires_grad_()
            outs = {
                "log_c": power_spherical_log_normalizer(m, k),
                "entropy": power_spherical_entropy(m, k),
                "kl_uniform": power_spherical_kl_uniform(m, k),
                "d_log_c": torch.autograd.grad(power_spherical_log_normalizer(m, kr).sum(), kr)[0],
                "d_entropy": torch.autograd.grad(power_spherical_entropy(m, kr).sum(), kr)[0],
            }
            if dtype == torch.float64:
                outs["literal log_c"] = ps_log_normalizer_reference(m, k)
                outs["literal entropy"] = ps_entropy_reference(m, k)
            for name, out in outs.items():
                key = name.replace("literal ", "")
                for got, kappa in zip(out.tolist(), k.double().tolist()):
                    want = float(ref(m, kappa)[key])
                    if key in RELATIVE:
                        if want == 0:
                            continue
                        err = abs(got - want) / abs(want)
                    else:
                        err = abs(got - want) / max(1.0, abs(want))
                    if err > worst.get(name, (0.0,))[0]:
                        worst[name] = (err, m, kappa)
        print(dtype)
        for name, (err, m, kappa) in worst.items():
            print(f"  {name:16s} {err:.2e}  (m = {m}, kappa = {kappa:g})")


if __name__ == "__main__":
    main()
