"""The EM fit at m = 768: log-likelihood per iteration and estimated vs true kappa.

    python -m examples.movmf.figure            # writes docs/images/movmf_em.png

Three known 3-component mixtures on S^767 (kappa from 100 to 2000, N = 6000
points each), drawn with hvae_ext's VonMisesFisher sampler and fitted by
examples.movmf's EM in float64. At this m, scipy.special.iv(383, kappa)
is 0 for kappa <= 40.5 and inf from kappa ~ 799.8 (scipy 1.17), so the
textbook A_m = iv(384, k)/iv(383, k) and its inverse fail in the shaded ranges.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Optional, Sequence

import torch

from .__main__ import run

MIXTURES = [[100.0, 400.0, 1500.0], [250.0, 700.0, 2000.0], [150.0, 900.0, 1200.0]]


def main(argv: Optional[Sequence[str]] = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401  (matplotlib.ticker.MaxNLocator)

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=os.path.join("docs", "images", "movmf_em.png"))
    p.add_argument("--n", type=int, default=6000)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args(argv)

    fig, (ax_ll, ax_k) = plt.subplots(1, 2, figsize=(8, 3.3))
    true_k, est_k = [], []
    t0 = time.perf_counter()
    for i, kappas in enumerate(MIXTURES):
        (w, loc, kappa), fit, perm, seconds = run(768, kappas, args.n, [0.5, 0.3, 0.2], seed=i, device=args.device)
        ll = fit.log_likelihood
        ax_ll.plot(range(len(ll)), ll, marker="o", ms=3, label=f"mixture {i + 1} ({len(ll)} it., {seconds:.1f} s)")
        for j, e in enumerate(perm):
            true_k.append(kappa[j].item())
            est_k.append(fit.kappa[e].item())
    ax_ll.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax_ll.set_xlabel("EM iteration")
    ax_ll.set_ylabel("mean log-likelihood per point")
    ax_ll.set_title("EM on S^767 (m = 768), N = %d" % args.n, fontsize=10)
    ax_ll.legend(fontsize=7)
    lim = [20, 2500]
    ax_k.plot(lim, lim, color="0.6", lw=1)
    ax_k.scatter(true_k, est_k, s=18, zorder=3)
    # where the textbook A_m = iv(384, k)/iv(383, k) fails in float64 (scipy 1.17)
    ax_k.axvspan(lim[0], 40.5, color="C3", alpha=0.08)
    ax_k.axvspan(799.8, lim[1], color="C3", alpha=0.08)
    ax_k.text(22, 1500, "iv = 0", fontsize=7, color="C3")
    ax_k.text(830, 25, "scipy.special.iv(383, k)\n= inf", fontsize=7, color="C3")
    ax_k.set_xscale("log")
    ax_k.set_yscale("log")
    ax_k.set_xlim(lim)
    ax_k.set_ylim(lim)
    ax_k.set_xlabel("true kappa")
    ax_k.set_ylabel("estimated kappa")
    ax_k.set_title("kappa = iv_ratio_inverse(383, rbar)", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out} ({time.perf_counter() - t0:.1f} s); kappa rel. errors: "
          + ", ".join(f"{e / t - 1:+.3f}" for t, e in zip(true_k, est_k)))


if __name__ == "__main__":
    main()
