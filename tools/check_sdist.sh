#!/usr/bin/env bash
# Builds the sdist, builds a wheel from it and installs that into a fresh
# venv, all in a scratch folder away from the checkout, then imports the
# installed copy there and runs one op of each family: what a user who
# installs from an archive or an index gets. The venv sees the system's
# packages (--system-site-packages), so torch is not downloaded again, and
# the build uses that torch (--no-build-isolation, as the README says).
#
#   tools/check_sdist.sh [SCRATCH_DIR]     (default: a new mktemp -d)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
case "$work/" in "$root"/*) echo "check_sdist: $work is inside the checkout" >&2; exit 2 ;; esac
python="${PYTHON:-python}"

echo "sdist -> $work/dist"
(cd "$root" && "$python" setup.py -q egg_info --egg-base "$work" sdist --dist-dir "$work/dist" >/dev/null)
sdist="$(ls "$work"/dist/hvae_ext-*.tar.gz)"

# --without-pip: a venv's own pip would bring the setuptools bundled with
# this Python (65 on 3.11), which would shadow the system's and cannot read
# pyproject's SPDX license (setuptools >= 77). The system's pip installs into
# the venv instead (--python runs it under the venv's interpreter).
"$python" -m venv --system-site-packages --without-pip "$work/venv"
venv_python="$work/venv/bin/python"
venv_pip() { "$python" -m pip --python "$venv_python" "$@"; }
cd "$work"
echo "wheel from $(basename "$sdist") (compiles the extension)"
venv_pip wheel -q --no-build-isolation --no-deps --wheel-dir "$work/wheels" "$sdist"
wheel="$(ls "$work"/wheels/hvae_ext-*.whl)"
echo "install $(basename "$wheel") into $work/venv"
venv_pip install -q --no-build-isolation "$wheel"

"$venv_python" - "$work/venv" <<'PY'
import os
import sys

import torch

import hvae_ext
from hvae_ext import VonMisesFisher, sylvester_triangular
from hvae_ext.special import log_iv

venv = os.path.realpath(sys.argv[1])
where = os.path.realpath(hvae_ext.__file__)
assert where.startswith(venv + os.sep), f"imported {where}, not the copy installed in {venv}"
print(f"hvae_ext {hvae_ext.__version__} from {where}")

x = torch.tensor([1e-3, 1.0, 1e3], dtype=torch.float64)
value = log_iv(0.5, x)  # I_{1/2}(x) = sqrt(2 / (pi x)) sinh(x)
expected = 0.5 * torch.log(2 / (torch.pi * x)) + x + torch.log(-torch.expm1(-2 * x) / 2)
assert torch.allclose(value, expected, rtol=1e-12), (value, expected)

loc = torch.nn.functional.normalize(torch.randn(4, 5, dtype=torch.float64), dim=-1)
z = VonMisesFisher(loc, torch.full((4,), 10.0, dtype=torch.float64)).rsample()
assert z.shape == (4, 5) and torch.allclose(z.norm(dim=-1), torch.ones(4, dtype=torch.float64))

z0 = torch.randn(3, 4)
zero = torch.zeros(3, 2, 10)
z_k, logdet = sylvester_triangular(z0, zero, zero, torch.zeros(3, 2, 4))  # zero parameters: the identity
assert torch.equal(z_k, z0) and torch.equal(logdet, torch.zeros(3))
print("log_iv, VonMisesFisher.rsample, sylvester_triangular: ok")
PY
"$venv_python" -m hvae_ext.info
