# Enables the CUDA language once, with the project's architectures and flags.
# Included from the top-level CMakeLists.txt (enable_language needs directory
# scope, so this is an include file rather than a function).
if(NOT CMAKE_CUDA_COMPILER)
  message(FATAL_ERROR
    "hvae: CUDA code requested but no CUDA compiler was found; set "
    "CMAKE_CUDA_COMPILER (or CUDACXX) to nvcc, or pass -DHVAE_CUDA_DEVICE_CHECK=OFF")
endif()
# common.h calls constexpr std::numeric_limits from host+device code, which
# torch.utils.cpp_extension also allows by default.
set(HVAE_CUDA_FLAGS --expt-relaxed-constexpr -Xcudafe=--display_error_number)
if(NOT CMAKE_CUDA_COMPILER_LOADED)
  # sm_80 (A100) and sm_90 (H100); CUDA 13 no longer targets sm_50..sm_70.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES "80;90")
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  set(CMAKE_CUDA_EXTENSIONS OFF)
  message(STATUS "hvae: nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}")
endif()
