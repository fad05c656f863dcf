"""A whole training step without host syncs.

A graph break under torch.compile(fullgraph=True) marks a data-dependent
sync (a `.item()`, a Python branch on a tensor, a `.any()` in validation),
so compiling a whole S-VAE step and a whole N-VAE + T-SNF step (encoder,
distribution with its default validation, rsample, KL, loss, backward and
the Adam update) with fullgraph=True is the CPU test that nothing on that
path syncs. On CUDA the same step is captured in a CUDA graph and replayed,
which fails on any sync; that test skips without a GPU.

`loss.backward()` inside the compiled function: torch 2.13's Dynamo traces
it when `torch._dynamo.config.trace_autograd_ops` is on, provided the
function does not return a tensor whose graph the backward consumed (so it
returns `loss.detach()`). The backward then runs inside the compiled graph.
The compiled step is compared with the eager one: same seed, same samples,
the same loss and parameters after the update.

backend="aot_eager": Dynamo and AOTAutograd trace the whole step (fake
kernels, autograd of the custom ops, the KL dispatch, the validation's
asserts); inductor's C++ codegen of the same graph takes minutes on a
loaded 2-core machine and is covered for the ops by their own tests.
"""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal, kl_divergence

import hvae_ext

B, IMAGE, HIDDEN, Z, K = 8, 24, 16, 5, 3
LOG_2PI = 1.8378770664093453


class SVae(nn.Module):
    """s-vae-pytorch's example model at toy size: MLP encoder, vMF posterior
    with the uniform prior, Bernoulli decoder."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(IMAGE, HIDDEN), nn.ReLU())
        self.fc_mean, self.fc_var = nn.Linear(HIDDEN, Z), nn.Linear(HIDDEN, 1)
        self.decoder = nn.Sequential(nn.Linear(Z, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, IMAGE))

    def forward(self, x):
        h = self.encoder(x)
        q = hvae_ext.VonMisesFisher(F.normalize(self.fc_mean(h), dim=-1),
                                    F.softplus(self.fc_var(h)).squeeze(-1) + 1)  # default validation
        z = q.rsample()
        kl = kl_divergence(q, hvae_ext.HypersphericalUniform(Z, device=x.device))
        recon = F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction="none").sum(-1)
        return (recon + kl).mean()


class SylvesterVae(nn.Module):
    """Gaussian encoder, K amortized T-SNF steps, standard normal prior."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(IMAGE, HIDDEN), nn.ReLU())
        self.fc_mean, self.fc_var = nn.Linear(HIDDEN, Z), nn.Linear(HIDDEN, Z)
        self.flow = hvae_ext.AmortizedTriangularSylvester(HIDDEN, Z, K)
        self.decoder = nn.Sequential(nn.Linear(Z, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, IMAGE))

    def forward(self, x):
        h = self.encoder(x)
        # torch's Normal validates its arguments with a host sync
        # (torch._is_all_true), which a CUDA graph capture rejects; hvae_ext's
        # distributions validate asynchronously, so the vMF model keeps its default.
        q0 = Normal(self.fc_mean(h), F.softplus(self.fc_var(h)) + 1e-3, validate_args=False)
        z0 = q0.rsample()
        z_k, logdet = self.flow(z0, h)
        log_prior = -0.5 * (z_k * z_k).sum(-1) - 0.5 * Z * LOG_2PI
        kl = q0.log_prob(z0).sum(-1) - logdet - log_prior
        recon = F.binary_cross_entropy_with_logits(self.decoder(z_k), x, reduction="none").sum(-1)
        return (recon + kl).mean()


def _model(cls, device):
    torch.manual_seed(0)
    model = cls().to(device)
    if cls is SylvesterVae:
        # away from the identity initialisation, so the flow does something
        with torch.no_grad():
            for layer in (model.flow.head.r1, model.flow.head.r2, model.flow.head.b):
                layer.weight.normal_(0, 0.1)
    return model


def _data(device):
    g = torch.Generator().manual_seed(1)
    return (torch.rand(B, IMAGE, generator=g) < 0.3).float().to(device)


def _forward_backward_fn(model):
    params = list(model.parameters())

    def forward_backward(x):
        # Optimizer.zero_grad is one of the functions Dynamo does not trace;
        # dropping the gradients is what it does by default (set_to_none).
        for p in params:
            p.grad = None
        loss = model(x)
        loss.backward()
        return loss.detach()

    return forward_backward


def _step_fn(model, optimizer):
    forward_backward = _forward_backward_fn(model)

    def step(x):
        loss = forward_backward(x)
        optimizer.step()
        return loss

    return step


@pytest.fixture
def trace_backward(monkeypatch):
    monkeypatch.setattr(torch._dynamo.config, "trace_autograd_ops", True)
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.parametrize("cls", [SVae, SylvesterVae], ids=["svae", "nvae-tsnf"])
def test_whole_step_compiles_without_graph_break(cls, trace_backward):
    # forward, loss and backward in one fullgraph compilation; the Adam update
    # follows, eagerly, in both runs (Optimizer.step breaks the graph on
    # purpose, torch/optim/optimizer.py: _use_grad, so that AOTAutograd sees an
    # inference graph; the CUDA-graph test below captures it with the rest).
    x = _data("cpu")
    eager_model = _model(cls, "cpu")
    compiled_model = copy.deepcopy(eager_model)
    eager_opt = torch.optim.Adam(eager_model.parameters(), lr=1e-2)
    compiled_opt = torch.optim.Adam(compiled_model.parameters(), lr=1e-2)
    eager_fb = _forward_backward_fn(eager_model)
    compiled_fb = torch.compile(_forward_backward_fn(compiled_model), fullgraph=True, backend="aot_eager")
    for i in range(3):
        torch.manual_seed(10 + i)
        want = eager_fb(x)
        torch.manual_seed(10 + i)
        got = compiled_fb(x)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        for (name, p), q in zip(eager_model.named_parameters(), compiled_model.parameters()):
            torch.testing.assert_close(q.grad, p.grad, rtol=1e-4, atol=1e-6, msg=name)
        eager_opt.step()
        compiled_opt.step()
    start = _model(cls, "cpu").state_dict()
    for (name, p), q in zip(eager_model.named_parameters(), compiled_model.parameters()):
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-6, msg=name)
        assert not torch.equal(p, start[name])  # the steps moved it


@pytest.mark.parametrize("cls", [SVae, SylvesterVae], ids=["svae", "nvae-tsnf"])
def test_step_under_autocast_compiles(cls, trace_backward):
    # The same inside a bfloat16 autocast region (the ops' autocast kernels
    # are traced too): float32 losses, finite gradients.
    x = _data("cpu")
    model = _model(cls, "cpu")
    params = list(model.parameters())

    def forward_backward(x):
        for p in params:
            p.grad = None
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(x)
        loss.backward()
        return loss.detach()

    compiled = torch.compile(forward_backward, fullgraph=True, backend="aot_eager")
    for _ in range(2):
        loss = compiled(x)
        assert loss.dtype == torch.float32 and torch.isfinite(loss)
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("cls", [SVae, SylvesterVae], ids=["svae", "nvae-tsnf"])
def test_whole_step_in_a_cuda_graph(cls):
    # Capture one full step (forward with default validation, backward, Adam)
    # and replay it; any host sync inside would fail the capture. The replays
    # must give what the same steps give eagerly: the same generator state
    # before each step, hence the same samples (the graph-safe Philox offsets
    # advance in the captured kernels as in eager ones).
    device = "cuda"
    x_static = _data(device)
    eager_model = _model(cls, device)
    graph_model = copy.deepcopy(eager_model)
    eager_opt = torch.optim.Adam(eager_model.parameters(), lr=1e-2, capturable=True)
    graph_opt = torch.optim.Adam(graph_model.parameters(), lr=1e-2, capturable=True)
    eager_step, graph_step = _step_fn(eager_model, eager_opt), _step_fn(graph_model, graph_opt)

    # warm up on a side stream (lazy state: Adam's moments, cuBLAS handles),
    # the same number of steps for both models
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for i in range(3):
            torch.manual_seed(100 + i)
            eager_step(x_static)
            torch.manual_seed(100 + i)
            graph_step(x_static)
    torch.cuda.current_stream().wait_stream(side)

    graph = torch.cuda.CUDAGraph()
    torch.manual_seed(200)
    with torch.cuda.graph(graph):
        loss_static = graph_step(x_static)

    # The capture ran no step (kernels were recorded, not executed); replay now.
    for i in range(3):
        torch.manual_seed(300 + i)
        want = eager_step(x_static)
        torch.manual_seed(300 + i)
        graph.replay()
        torch.testing.assert_close(loss_static, want, rtol=1e-5, atol=1e-5)
    torch.cuda.synchronize()
    for (name, p), q in zip(eager_model.named_parameters(), graph_model.parameters()):
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-6, msg=name)
