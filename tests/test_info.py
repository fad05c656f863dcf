"""`python -m hvae_ext.info`: the facts a bug report needs, and that they
agree with what torch and the CPU say independently."""

import os
import platform
import subprocess
import sys

import torch

import hvae_ext
from hvae_ext.info import format_info, info

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_info(**env):
    full_env = {**os.environ, "PYTHONPATH": ROOT, **env}
    return subprocess.run([sys.executable, "-m", "hvae_ext.info"], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, check=True, timeout=300)


def test_info_dict_matches_torch_and_python():
    d = info()
    assert d["hvae_ext"] == hvae_ext.__version__
    assert d["hvae_ext_path"] == os.path.dirname(os.path.abspath(hvae_ext.__file__))
    assert d["torch"] == torch.__version__
    assert torch.__version__.startswith(d["built_with_torch"])  # "2.13.0" of "2.13.0+cpu"
    assert d["python"].endswith(platform.python_version())
    assert d["torch_cuda"] == torch.version.cuda and d["cuda_available"] == torch.cuda.is_available()
    assert d["torch_threads"] == torch.get_num_threads()
    assert d["openmp_in_hvae_ext"]  # setup.py compiles with -fopenmp (at::parallel_for needs it)


def test_cuda_kernels_reported_as_built_exactly_when_registered():
    # Independent of build_info: does the dispatcher hold a CUDA kernel?
    registered = torch._C._dispatch_has_kernel_for_dispatch_key("hvae::log_iv", "CUDA")
    d = info()
    assert d["cuda_kernels_built"] == registered
    if registered:
        assert d["cuda_archs"] and all(a.startswith("sm_") for a in d["cuda_archs"]) and d["nvcc"]
    else:
        assert d["cuda_archs"] == [] and d["nvcc"] == ""


def test_cpu_paths_agree_with_the_cpu():
    d = info()
    if platform.machine() != "x86_64":
        return
    avx2 = torch.cpu._is_avx2_supported()
    assert d["cpu_clones"] == ["x86-64-v3", "x86-64"]
    # x86-64-v3 needs AVX2 (and FMA, BMI1/2, ...): never picked without AVX2.
    assert d["cpu_clone_picked"] in ("x86-64-v3", "x86-64")
    if not avx2:
        assert d["cpu_clone_picked"] == "x86-64"
    if not avx2 or "HVAE_EXT_NO_AVX2" in os.environ:
        assert d["vmf_cpu_loops"].startswith("baseline")
    elif d["compiler"].startswith("GCC"):  # vmf_cpu_avx2.cpp builds its AVX2 copy with GCC
        assert d["vmf_cpu_loops"] == "avx2"


def test_python_m_hvae_ext_info_prints_every_field():
    out = _run_info().stdout
    for label in ("hvae_ext:", "torch:", "python:", "platform:", "compiler:", "torch CUDA:", "GPUs:",
                  "CUDA kernels:", "CPU threads:", "CPU loops (Bessel, T-SNF):", "CPU loops (vMF sampler):"):
        assert any(line.startswith(label) for line in out.splitlines()), (label, out)
    assert torch.__version__ in out and hvae_ext.__version__ in out
    if not torch._C._dispatch_has_kernel_for_dispatch_key("hvae::log_iv", "CUDA"):
        assert "CUDA kernels:              not built (CPU-only build)" in out


def test_info_reports_the_environment_switches():
    out = _run_info(HVAE_EXT_NO_AVX2="1", OMP_NUM_THREADS="1").stdout
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert lines["CPU loops (vMF sampler)"].strip() == "baseline (HVAE_EXT_NO_AVX2 is set)"
    assert lines["CPU threads"].strip().startswith("1 (") and "OMP_NUM_THREADS=1" in lines["CPU threads"]


def test_format_names_the_cuda_architectures():
    d = {**info(), "cuda_kernels_built": True, "cuda_archs": ["sm_80", "sm_90"], "nvcc": "13.0"}
    assert "CUDA kernels:              built for sm_80, sm_90 (nvcc 13.0)" in format_info(d)


def test_format_of_a_library_without_build_info():
    d = {**info(), "build_info": False, "cuda_kernels_built": False, "cpu_clone_picked": "unknown"}
    assert "CUDA kernels:              unknown (the loaded hvae_ext._C has no hvae::_build_info" in format_info(d)
