"""`python -m hvae_ext.info`: what a bug report needs to say about this install.

Versions (hvae_ext, the torch it runs on and the one it was built against,
Python, platform), whether the CUDA kernels were built and for which
architectures, the thread settings, and which CPU loops the dispatch picked:
the per-element loops are compiled for x86-64 and x86-64-v3 (AVX2 + FMA)
and one is chosen when the library loads (csrc/ops/cpu_clones.h); the vMF
sampler has its own AVX2 copy (csrc/ops/vmf_cpu_avx2.cpp).
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Dict, List, Tuple

import torch


def _build_info() -> Dict[str, str]:
    """The key=value lines of the compiled library's hvae::_build_info; empty
    when the loaded library predates it (a stale build: that is worth
    reporting too, and the Python-side facts still print)."""
    try:
        text = torch.ops.hvae._build_info()
    except (AttributeError, RuntimeError):
        return {}
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _parallel_backend() -> str:
    for line in torch.__config__.parallel_info().splitlines():
        if line.startswith("ATen parallel backend:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def info() -> Dict[str, object]:
    """The facts as a dict (stable keys; values are str, int, bool or list)."""
    import hvae_ext

    built = _build_info()
    archs = [f"sm_{int(a) // 10}" for a in built.get("cuda_arch_list", "").split(",") if a.strip().isdigit()]
    cuda_built = bool(built.get("cuda_arch_list"))
    gpus: List[str] = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            major, minor = torch.cuda.get_device_capability(i)
            gpus.append(f"{torch.cuda.get_device_name(i)} (sm_{major}{minor})")
    return {
        "hvae_ext": hvae_ext.__version__,
        "hvae_ext_path": os.path.dirname(os.path.abspath(hvae_ext.__file__)),
        "torch": torch.__version__,
        "built_with_torch": built.get("built_with_torch", "unknown"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "compiler": built.get("compiler", "unknown"),
        "torch_cuda": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(),
        "gpus": gpus,
        "build_info": bool(built),  # False: the loaded _C predates hvae::_build_info
        "cuda_kernels_built": cuda_built,
        "cuda_archs": archs,
        "cuda_arch_list": built.get("cuda_arch_list", ""),
        "nvcc": built.get("nvcc", ""),
        "torch_threads": torch.get_num_threads(),
        "parallel_backend": _parallel_backend(),
        "openmp_in_hvae_ext": built.get("openmp", "0") != "0",
        "omp_num_threads_env": os.environ.get("OMP_NUM_THREADS"),
        "cpu_clones": [c for c in built.get("cpu_clones", "").split(",") if c],
        "cpu_clone_picked": built.get("cpu_clone_picked", "unknown"),
        "vmf_cpu_loops": built.get("vmf_cpu_loops", "unknown"),
    }


def _rows(d: Dict[str, object]) -> List[Tuple[str, str]]:
    if not d["build_info"]:
        kernels = "unknown (the loaded hvae_ext._C has no hvae::_build_info: a stale build?)"
    elif d["cuda_kernels_built"]:
        kernels = f"built for {', '.join(d['cuda_archs']) or d['cuda_arch_list']} (nvcc {d['nvcc']})"
    else:
        kernels = "not built (CPU-only build)"
    clones = str(d["cpu_clone_picked"])
    if clones == "x86-64-v3":
        clones += " (AVX2 + FMA)"
    if d["cpu_clones"]:
        clones += f", picked at load from: {', '.join(d['cpu_clones'])}"
    threads = f"{d['torch_threads']} ({d['parallel_backend']}"
    threads += ", hvae_ext compiled with OpenMP" if d["openmp_in_hvae_ext"] else ", hvae_ext compiled WITHOUT OpenMP"
    if d["omp_num_threads_env"] is not None:
        threads += f", OMP_NUM_THREADS={d['omp_num_threads_env']}"
    threads += ")"
    return [
        ("hvae_ext", f"{d['hvae_ext']} ({d['hvae_ext_path']})"),
        ("torch", f"{d['torch']} (hvae_ext built with {d['built_with_torch']})"),
        ("python", str(d["python"])),
        ("platform", str(d["platform"])),
        ("compiler", str(d["compiler"])),
        ("torch CUDA", f"{d['torch_cuda'] or 'none (CPU build of torch)'}, available: {d['cuda_available']}"),
        ("GPUs", ", ".join(d["gpus"]) or "none visible"),
        ("CUDA kernels", kernels),
        ("CPU threads", threads),
        ("CPU loops (Bessel, T-SNF)", clones),
        ("CPU loops (vMF sampler)", "AVX2 copy" if d["vmf_cpu_loops"] == "avx2" else str(d["vmf_cpu_loops"])),
    ]


def format_info(d: Dict[str, object]) -> str:
    rows = _rows(d)
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name + ':':<{width + 1}} {value}" for name, value in rows)


def main() -> int:
    print(format_info(info()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
