"""Builds hvae_ext._C, the operator library behind torch.ops.hvae.

CPU kernels are always built. CUDA kernels are built when torch is a CUDA
build and nvcc is found, unless HVAE_EXT_CUDA says otherwise:
  HVAE_EXT_CUDA=auto (default) | 1 (require CUDA, fail without it) | 0 (CPU only).
TORCH_CUDA_ARCH_LIST picks the GPU architectures and MAX_JOBS the parallel
compile jobs, both as in torch.utils.cpp_extension.

Install with `pip install --no-build-isolation -e .`: the extension must be
compiled against the torch that is already installed (build isolation would
fetch another torch and produce a library with a mismatched ABI).

Objects go to a persistent directory, build/ext-<python>-torch<version>/
(see BuildExt), so that a second install with unchanged sources compiles
nothing.
"""

import glob
import os
import re
import sys

import torch
from setuptools import setup
from torch.utils import cpp_extension
from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension

ROOT = os.path.dirname(os.path.abspath(__file__))

# The stable-ABI (abi3) floor: recent torch's BuildExtension defines
# -DPy_LIMITED_API=<its own floor> for a py_limited_api extension, and a
# second, different definition of ours would only draw a "redefined" warning
# from every compile and leave the wheel's tag behind the binary. We define it
# only where torch does not, and tag the wheel with the floor in force.
TORCH_ABI3_FLOOR = getattr(cpp_extension, "min_supported_cpython", None)
ABI3_FLOOR = TORCH_ABI3_FLOOR or "0x03090000"
ABI3_TAG = f"cp3{(int(ABI3_FLOOR, 16) >> 16) & 0xFF}"


def build_cuda() -> bool:
    mode = os.environ.get("HVAE_EXT_CUDA", "auto").strip().lower()
    if mode not in ("auto", "0", "1"):
        raise ValueError(f"HVAE_EXT_CUDA must be auto, 0 or 1, got {mode!r}")
    available = torch.version.cuda is not None and CUDA_HOME is not None
    if mode == "1" and not available:
        raise RuntimeError(
            "HVAE_EXT_CUDA=1 but CUDA kernels cannot be built: "
            f"torch.version.cuda={torch.version.cuda!r}, CUDA_HOME={CUDA_HOME!r} "
            "(need a CUDA build of torch and nvcc)"
        )
    return mode == "1" or (mode == "auto" and available)


def extension():
    with_cuda = build_cuda()
    sources = sorted(glob.glob("csrc/ops/*.cpp"))
    # -fopenmp: at::parallel_for only runs in parallel in code compiled with
    # OpenMP (ATen's OpenMP backend is a header template); without it every
    # CPU kernel would run on one thread.
    # -fno-math-errno, -fno-trapping-math: sqrt and floating-point selects in
    # loops vectorise (with errno, sqrt may call libm; with traps, a compare
    # may not be speculated). Neither changes a computed value.
    cxx_flags = [
        "-O3", "-std=c++17", "-fopenmp", "-fno-math-errno", "-fno-trapping-math",
    ]
    if TORCH_ABI3_FLOOR is None:
        cxx_flags.append(f"-DPy_LIMITED_API={ABI3_FLOOR}")
    kwargs = dict(
        name="hvae_ext._C",
        extra_link_args=["-fopenmp"],
        include_dirs=[os.path.join(ROOT, "csrc")],
        py_limited_api=True,
    )
    if not with_cuda:
        print("hvae_ext: building CPU kernels only")
        return CppExtension(sources=sources, extra_compile_args={"cxx": cxx_flags}, **kwargs)
    print("hvae_ext: building CPU and CUDA kernels")
    # CUDA sources are named <family>_cuda.cu: torch's build names objects by
    # file stem, so bessel.cpp and bessel.cu would both become bessel.o.
    sources += sorted(glob.glob("csrc/ops/*_cuda.cu"))
    # No --use_fast_math: it flushes denormals and approximates exp/log, which
    # breaks the accuracy targets of the special functions.
    nvcc_flags = ["-O3", "-std=c++17", "-lineinfo", "--expt-relaxed-constexpr"]
    return CUDAExtension(
        sources=sources, extra_compile_args={"cxx": cxx_flags, "nvcc": nvcc_flags}, **kwargs
    )


class BuildExt(BuildExtension.with_options(use_ninja=True)):
    """torch's BuildExtension (ninja) with its objects in a persistent folder.

    pip builds an editable install with a fresh temporary build_temp, so each
    `pip install -e` would recompile every file. Here the objects and
    build.ninja stay in build/ under the project root: ninja then recompiles
    only what changed since the last build (it tracks every included header
    through the compiler's depfiles, and the full command line of each
    object, so new flags, HVAE_EXT_CUDA or TORCH_CUDA_ARCH_LIST rebuild too).
    The folder is per Python and per torch version: objects built against one
    torch's headers are never linked against another torch. An explicit
    `build_ext --build-temp DIR` is kept."""

    def finalize_options(self):
        explicit = self.build_temp is not None
        super().finalize_options()
        if not explicit:
            tag = f"ext-{sys.implementation.cache_tag}-torch{torch.__version__}"
            self.build_temp = os.path.join(ROOT, "build", re.sub(r"[^A-Za-z0-9._-]", "_", tag))


setup(
    ext_modules=[extension()],
    cmdclass={"build_ext": BuildExt},
    options={"bdist_wheel": {"py_limited_api": ABI3_TAG}},
)
