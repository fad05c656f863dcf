import pytest
import torch

CUDA = torch.cuda.is_available()

# Every test that takes `device` runs on the CPU, and on CUDA when there is a
# GPU; the CUDA variants skip (they do not vanish) on CPU-only machines.
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not CUDA, reason="no CUDA device")]),
]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param
