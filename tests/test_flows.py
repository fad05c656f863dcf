"""hvae_ext.flows: the T-SNF modules against the op and the bmm reference, the
amortization head (shapes, packed layout, tanh diagonals, identity init),
float32 stability where tanh saturates (against mpmath), inverse round trips,
gradcheck, torch.compile and state_dict.

The op itself (layouts, errors, opcheck, its own gradcheck) is tested in
tests/test_sylvester_op.py.
"""

import io

import mpmath
import pytest
import torch
from torch.func import functional_call
from torch.testing import assert_close

import hvae_ext
from hvae_ext import flows, reference
from hvae_ext.flows import AmortizedTriangularSylvester, TriangularSylvester, TriangularSylvesterHead

DTYPES = [torch.float32, torch.float64]


def randomize_(module: torch.nn.Module, scale: float, seed: int = 0) -> torch.nn.Module:
    """Replaces every parameter by N(0, scale^2) noise: a generic, non-identity flow."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * scale)
    return module


def inputs(batch, feature_dim, dim, device, dtype, seed=1):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, dim, generator=g, dtype=torch.float64)
    h = torch.randn(batch, feature_dim, generator=g, dtype=torch.float64)
    return z.to(device, dtype), h.to(device, dtype)


def packed_params(batch, num_flows, dim, device, dtype, seed=2, shared=False):
    g = torch.Generator().manual_seed(seed)
    lead = () if shared else (batch,)
    tri = dim * (dim + 1) // 2
    r1 = 0.5 * torch.randn(*lead, num_flows, tri, generator=g, dtype=torch.float64)
    r2 = 0.5 * torch.randn(*lead, num_flows, tri, generator=g, dtype=torch.float64)
    b = torch.randn(*lead, num_flows, dim, generator=g, dtype=torch.float64)
    return tuple(t.to(device, dtype) for t in (r1, r2, b))


# ---------------------------------------------------------------- modules match the op and the reference


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("permute", ["alternate", "none", "reverse", [True, False, False]])
@pytest.mark.parametrize("diag_tanh", [False, True])
@pytest.mark.parametrize("shared", [False, True])
def test_triangular_sylvester_matches_reference(device, dtype, permute, diag_tanh, shared):
    batch, dim, num_flows = 5, 4, 3
    z, _ = inputs(batch, 1, dim, device, dtype)
    r1, r2, b = packed_params(batch, num_flows, dim, device, dtype, shared=shared)
    flow = TriangularSylvester(dim, num_flows, permute=permute, diag_tanh=diag_tanh)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    for per_step in (False, True):
        z_k, logdet = flow(z, r1, r2, b, per_step_logdet=per_step)
        z_ref, logdet_ref = reference.sylvester_triangular(z, r1, r2, b, permute=permute,
                                                           per_step_logdet=per_step, diag_tanh=diag_tanh)
        assert z_k.dtype == dtype and z_k.device.type == device
        assert logdet.shape == ((batch, num_flows) if per_step else (batch,))
        assert_close(z_k, z_ref, **tol)
        assert_close(logdet, logdet_ref, **tol)
    # The module is the op with its configuration, bit for bit.
    z_op, logdet_op = hvae_ext.sylvester_triangular(z, r1, r2, b, permute=permute, diag_tanh=diag_tanh)
    z_k, logdet = flow(z, r1, r2, b)
    assert torch.equal(z_k, z_op) and torch.equal(logdet, logdet_op)


def test_triangular_sylvester_dense_factors(device):
    batch, dim, num_flows = 4, 5, 2
    z, _ = inputs(batch, 1, dim, device, torch.float64)
    r1, r2, b = packed_params(batch, num_flows, dim, device, torch.float64)
    noise = torch.randn(batch, num_flows, dim, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    noise = noise.to(device)
    lower = torch.tril(noise, diagonal=-1)  # ignored by the op
    dense1 = flows.unpack_triu(r1, dim) + lower
    dense2 = flows.unpack_triu(r2, dim) - lower
    flow = TriangularSylvester(dim, num_flows)
    z_packed, logdet_packed = flow(z, r1, r2, b)
    z_dense, logdet_dense = flow(z, dense1, dense2, b)
    assert_close(z_dense, z_packed, rtol=1e-14, atol=1e-14)
    assert_close(logdet_dense, logdet_packed, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_amortized_module_is_head_then_flow(device, dtype):
    batch, feature_dim, dim, num_flows = 6, 7, 4, 3
    module = randomize_(AmortizedTriangularSylvester(feature_dim, dim, num_flows), 0.3).to(device, dtype)
    z, h = inputs(batch, feature_dim, dim, device, dtype)
    r1, r2, b = module.head(h)
    z_k, logdet = module(z, h)
    z_ref, logdet_ref = reference.sylvester_triangular(z, r1, r2, b, diag_tanh=True)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    assert_close(z_k, z_ref, **tol)
    assert_close(logdet, logdet_ref, **tol)
    _, per_step = module(z, h, per_step_logdet=True)
    assert per_step.shape == (batch, num_flows)
    assert_close(per_step.sum(-1), logdet, **tol)


# ---------------------------------------------------------------- the head


def test_head_shapes_and_output_units(device):
    feature_dim, dim, num_flows = 5, 6, 3
    head = TriangularSylvesterHead(feature_dim, dim, num_flows).to(device)
    tri = dim * (dim + 1) // 2
    # K (D^2 + 2D) outputs: two packed triangles and b per step.
    assert sum(p.shape[0] for n, p in head.named_parameters() if n.endswith("bias")) == num_flows * (dim * dim + 2 * dim)
    for lead in [(4,), (2, 3), ()]:
        h = torch.ones(*lead, feature_dim, device=device)
        r1, r2, b = head(h)
        assert r1.shape == (*lead, num_flows, tri) and r2.shape == r1.shape
        assert b.shape == (*lead, num_flows, dim)
        assert r1.is_contiguous() and r2.is_contiguous() and b.is_contiguous()


def test_head_packed_layout(device):
    """Entry j of a packed triangle is R[rows[j], cols[j]] with (rows, cols) =
    torch.triu_indices(D, D); the flow uses tanh on the diagonal entries."""
    dim = 4
    head = TriangularSylvesterHead(3, dim, 2).to(device, torch.float64)
    rows, cols = torch.triu_indices(dim, dim)
    assert torch.equal(head.diag_index.cpu(), torch.nonzero(rows == cols).flatten())
    packed = torch.arange(1.0, 1 + 2 * 10, dtype=torch.float64, device=device).view(2, 10) / 10
    dense = head.dense(packed)
    # built on the same device: CPU and CUDA tanh may differ in the last ulp
    expected = torch.zeros(2, dim, dim, dtype=torch.float64, device=device)
    expected[:, rows, cols] = packed
    expected[:, range(dim), range(dim)] = torch.tanh(expected[:, range(dim), range(dim)])
    assert torch.equal(dense, expected)
    # What the flow does with the head's output is the reference on these dense factors.
    randomize_(head, 0.5)
    z, h = inputs(3, 3, dim, device, torch.float64)
    r1, r2, b = head(h)
    z_k, logdet = TriangularSylvester(dim, 2, diag_tanh=True)(z, r1, r2, b)
    z_ref, logdet_ref = reference.sylvester_triangular(z, head.dense(r1), head.dense(r2), b)
    assert_close(z_k, z_ref, rtol=1e-13, atol=1e-13)
    assert_close(logdet, logdet_ref, rtol=1e-13, atol=1e-13)


def test_diagonal_products_in_open_interval(device):
    # Raw diagonals up to ~15: past float32's tanh saturation (~9), short of
    # float64's (~19), so the float64 products show the strict bounds. (Beyond
    # that they round to +-1; the log-det never uses the rounded product, see
    # the saturation tests below.)
    head = randomize_(TriangularSylvesterHead(8, 5, 4), 1.0).to(device, torch.float64)
    _, h = inputs(256, 8, 5, device, torch.float64)
    r1, r2, _ = head(h)
    raw = torch.cat([r1[..., head.diag_index], r2[..., head.diag_index]]).abs()
    assert 9 < raw.max() < 18
    prod = torch.diagonal(head.dense(r1), dim1=-2, dim2=-1) * torch.diagonal(head.dense(r2), dim1=-2, dim2=-1)
    assert (prod > -1).all() and (prod < 1).all()
    assert prod.min() < -0.99 and prod.max() > 0.99  # both ends are approached


# ---------------------------------------------------------------- identity at initialisation


def test_identity_at_init_with_nonzero_gradients(device):
    batch, feature_dim, dim, num_flows = 8, 6, 5, 4
    module = AmortizedTriangularSylvester(feature_dim, dim, num_flows).to(device, torch.float64)
    z, h = inputs(batch, feature_dim, dim, device, torch.float64)
    z = z.requires_grad_(True)
    z_k, logdet = module(z, h, per_step_logdet=True)
    assert torch.equal(z_k, z)
    assert torch.equal(logdet, torch.zeros_like(logdet))
    g = torch.randn(batch, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(3)).to(device)
    loss = (g * z_k).sum() + logdet.sum()
    grads = dict(zip([n for n, _ in module.named_parameters()],
                     torch.autograd.grad(loss, list(module.parameters()))))
    # dz_K/dR1 = tanh(a) with a = tanh(r2_diag_init) P z != 0, and d logdet/d(R1 diagonal) != 0.
    assert grads["head.r1.weight"].abs().max() > 1e-3 and grads["head.r1.bias"].abs().max() > 1e-3
    assert torch.count_nonzero(grads["head.r1.weight"]) == grads["head.r1.weight"].numel()  # every entry of R1
    # One SGD step leaves the identity; from there every map gets a gradient.
    with torch.no_grad():
        for name, p in module.named_parameters():
            p -= 0.1 * grads[name]
    z_k, logdet = module(z, h)
    assert (z_k - z).abs().max() > 1e-3
    loss = (g * z_k).sum() + logdet.sum()
    for p in torch.autograd.grad(loss, list(module.parameters())):
        assert p.abs().max() > 1e-6


def test_all_zero_init_would_be_stationary(device):
    # Why r2_diag_init is nonzero: with every map zero the identity is a
    # stationary point and training could never leave it.
    module = AmortizedTriangularSylvester(6, 5, 4, r2_diag_init=0.0).to(device, torch.float64)
    z, h = inputs(8, 6, 5, device, torch.float64)
    z_k, logdet = module(z, h)
    assert torch.equal(z_k, z)
    loss = (torch.linspace(-1, 1, z_k.numel(), dtype=z_k.dtype, device=device).view_as(z_k) * z_k).sum() + logdet.sum()
    for p in torch.autograd.grad(loss, list(module.parameters())):
        assert torch.count_nonzero(p) == 0


def test_reset_parameters_restores_identity(device):
    module = randomize_(AmortizedTriangularSylvester(4, 3, 2), 1.0).to(device)
    z, h = inputs(5, 4, 3, device, torch.float32)
    assert not torch.equal(module(z, h)[0], z)
    module.head.reset_parameters()
    z_k, logdet = module(z, h)
    assert torch.equal(z_k, z) and torch.equal(logdet, torch.zeros_like(logdet))


# ---------------------------------------------------------------- stability where tanh saturates


def mp_log_det(z, r1, r2, b, flips):
    """T-SNF forward in 120+-digit arithmetic, diag_tanh semantics; returns the
    total log-det per sample. z [B, D], r1/r2 [B, K, T] packed, b [B, K, D]."""
    # 1 + tanh(d1) tanh(d2) cancels to ~exp(-2 min |d|): 1e-57 at |d| = 66
    # (120 digits), 1e-8700 at 1e4; the precision follows the largest |d|.
    biggest = max(float(r1.abs().max()), float(r2.abs().max()))
    with mpmath.workdps(max(120, int(0.87 * biggest) + 60)):
        return _mp_log_det(z, r1, r2, b, flips)


def _mp_log_det(z, r1, r2, b, flips):
    batch, dim = z.shape
    rows, cols = torch.triu_indices(dim, dim).tolist()
    out = []
    for n in range(batch):
        x = [mpmath.mpf(float(v)) for v in z[n]]
        total = mpmath.mpf(0)
        for k, flip in enumerate(flips):
            mats = []
            for r in (r1, r2):
                m = [[mpmath.mpf(0)] * dim for _ in range(dim)]
                for j, (i, c) in enumerate(zip(rows, cols)):
                    v = mpmath.mpf(float(r[n, k, j]))
                    m[i][c] = mpmath.tanh(v) if i == c else v
                mats.append(m)
            q1, q2 = mats
            px = x[::-1] if flip else x
            a = [sum(q2[i][j] * px[j] for j in range(dim)) + mpmath.mpf(float(b[n, k, i])) for i in range(dim)]
            t = [mpmath.tanh(v) for v in a]
            step = [sum(q1[i][j] * t[j] for j in range(dim)) for i in range(dim)]
            if flip:
                step = step[::-1]
            x = [xi + si for xi, si in zip(x, step)]
            total += sum(mpmath.log(1 + q1[i][i] * q2[i][i] * (1 - t[i] ** 2)) for i in range(dim))
        out.append(float(total))
    return torch.tensor(out, dtype=torch.float64)


def saturated_problem(device, low=15.0, high=60.0):
    """Raw diagonals of size low-high (15-60 by default) with opposite signs,
    so that in float32 (and in float64 beyond ~19) tanh(d1) tanh(d2) rounds to
    -1; row 0 has z = 0 and b = 0, so a = 0 and the naive 1 + R1_ii R2_ii
    tanh'(a) is exactly 0 there."""
    batch, dim, num_flows = 4, 3, 2
    g = torch.Generator().manual_seed(5)
    r1, r2, b = packed_params(batch, num_flows, dim, "cpu", torch.float64, seed=6)
    idx = torch.nonzero(torch.triu_indices(dim, dim)[0] == torch.triu_indices(dim, dim)[1]).flatten()
    size = low + (high - low) * torch.rand(batch, num_flows, dim, generator=g, dtype=torch.float64)
    r1[..., idx] = size
    r2[..., idx] = -size * (1 + 0.1 * torch.rand(size.shape, generator=g, dtype=torch.float64))
    z = torch.randn(batch, dim, generator=g, dtype=torch.float64)
    z[0] = 0
    b[0] = 0
    # Values exactly representable in float32, so both precisions see the same problem.
    return tuple(t.float().double().to(device) for t in (z, r1, r2, b))


def saturated_results(device, low=15.0, high=60.0):
    """(exact log-det, {dtype: (z_K, logdet, grads of logdet.sum() + z_K.sum()
    with respect to z, r1, r2, b)}), all as float64, on saturated_problem."""
    z, r1, r2, b = saturated_problem(device, low, high)
    flow = TriangularSylvester(3, 2, diag_tanh=True)
    # (None beyond |d| = 2e3: ~10^4 digits would take seconds per tanh)
    exact = mp_log_det(z.cpu(), r1.cpu(), r2.cpu(), b.cpu(), [False, True]) if high <= 2e3 else None
    results = {}
    for dtype in DTYPES:
        args = [t.to(dtype).requires_grad_(True) for t in (z, r1, r2, b)]
        z_k, logdet = flow(*args)
        grads = torch.autograd.grad(logdet.sum() + z_k.sum(), args)
        results[dtype] = (z_k.double(), logdet.double(), [gr.double() for gr in grads])
    return exact, results


def test_float32_saturated_diagonals_match_float64_and_mpmath(device):
    exact, results = saturated_results(device)
    assert exact[0] < -100  # sum of log cosh(x+y) - log cosh x - log cosh y: large and finite
    for z_k, logdet, grads in results.values():
        assert torch.isfinite(logdet).all() and torch.isfinite(z_k).all()
        assert all(torch.isfinite(gr).all() for gr in grads)
    z64, ld64, _ = results[torch.float64]
    z32, ld32, _ = results[torch.float32]
    assert_close(ld64.cpu(), exact, rtol=1e-13, atol=1e-12)
    assert_close(ld32, ld64, rtol=1e-6, atol=1e-6)
    assert_close(z32, z64, rtol=1e-6, atol=1e-6)
    # The plain formula (the reference) breaks down here: that is the point.
    z, r1, r2, b = saturated_problem(device)
    _, naive = reference.sylvester_triangular(*[t.float() for t in (z, r1, r2, b)], diag_tanh=True)
    assert not torch.isfinite(naive).all()


# The float32 gradient with respect to a saturated raw diagonal used to be off
# by ~|d| eps_32 relative (3.7e-6 at |d| ~ 40-66, 9e-5 at 1e3, 2e-4 at 1e4;
# z = b = 0, d2 = -1.1 d1: -2.00042 for -2.00000) although at a = 0 the exact
# value, tanh(d1 + d2) - tanh(d1), depends only on d1 + d2, which float32 holds
# exactly: the op took exp of log-cosh sums rounded at size ~2|d|. It now
# combines their |d| parts exactly first (csrc/hvae/sylvester.h,
# sylvester_log_cosh_sums).
@pytest.mark.parametrize("low,high", [(15.0, 60.0), (1e3, 1.1e3), (1e4, 1.1e4)])
def test_float32_saturated_gradients_match_float64(device, low, high):
    exact, results = saturated_results(device, low, high)
    if exact is not None:
        assert_close(results[torch.float64][1].cpu(), exact, rtol=1e-13, atol=1e-12)
    assert_close(results[torch.float32][1], results[torch.float64][1], rtol=1e-6, atol=1e-6)
    for name, a, e in zip("z r1 r2 b".split(), results[torch.float32][2], results[torch.float64][2]):
        assert_close(a, e, rtol=1e-6, atol=1e-6, msg=lambda m: f"gradient of {name}: {m}")


def test_saturated_head_is_finite_in_float32(device):
    module = randomize_(AmortizedTriangularSylvester(4, 3, 2), 0.2).to(device)
    with torch.no_grad():
        for layer, sign in ((module.head.r1, 1.0), (module.head.r2, -1.0)):
            bias = layer.bias.view(2, -1)
            bias[:, module.head.diag_index] = sign * 1e4
    z, h = inputs(6, 4, 3, device, torch.float32)
    z[0] = 0
    z = z.requires_grad_(True)
    z_k, logdet = module(z, h)
    assert torch.isfinite(z_k).all() and torch.isfinite(logdet).all()
    grads = torch.autograd.grad(logdet.sum(), [z] + list(module.parameters()))
    assert all(torch.isfinite(gr).all() for gr in grads)


# ---------------------------------------------------------------- inverse


@pytest.mark.parametrize("permute", ["alternate", "none", [False, True, True]])
def test_inverse_round_trip(device, permute):
    batch, feature_dim, dim, num_flows = 16, 5, 6, 3
    module = randomize_(AmortizedTriangularSylvester(feature_dim, dim, num_flows, permute=permute), 0.4)
    module = module.to(device, torch.float64)
    z, h = inputs(batch, feature_dim, dim, device, torch.float64)
    z_k, _ = module(z, h)
    assert (z_k - z).abs().max() > 0.1  # a real transformation
    assert_close(module.inverse(z_k, h), z, rtol=1e-10, atol=1e-10)
    r1, r2, b = module.head(h)
    assert_close(module.flow.inverse(z_k, r1, r2, b), z, rtol=1e-10, atol=1e-10)


def test_inverse_round_trip_float32(device):
    module = randomize_(AmortizedTriangularSylvester(5, 6, 4), 0.4).to(device)
    z, h = inputs(32, 5, 6, device, torch.float32)
    z_k, _ = module(z, h)
    assert_close(module.inverse(z_k, h), z, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- autograd, compile, state_dict


def test_gradcheck_head_and_flow(device):
    module = randomize_(AmortizedTriangularSylvester(3, 3, 2), 0.5).to(device, torch.float64)
    names = [n for n, _ in module.named_parameters()]
    z, h = inputs(3, 3, 3, device, torch.float64)

    def f(z, h, *params):
        return functional_call(module, dict(zip(names, params)), (z, h), {"per_step_logdet": True})

    args = [z, h] + [p.detach() for p in module.parameters()]
    args = [a.clone().requires_grad_(True) for a in args]
    assert torch.autograd.gradcheck(f, args)


def test_torch_compile_fullgraph(device):
    module = randomize_(AmortizedTriangularSylvester(4, 5, 3), 0.4).to(device, torch.float64)
    z, h = inputs(6, 4, 5, device, torch.float64)
    z = z.requires_grad_(True)
    compiled = torch.compile(module, fullgraph=True)
    z_c, ld_c = compiled(z, h)
    z_e, ld_e = module(z, h)
    assert_close(z_c, z_e, rtol=1e-13, atol=1e-13)
    assert_close(ld_c, ld_e, rtol=1e-13, atol=1e-13)
    params = [z] + list(module.parameters())
    g_c = torch.autograd.grad((z_c ** 2).sum() + ld_c.sum(), params)
    g_e = torch.autograd.grad((z_e ** 2).sum() + ld_e.sum(), params)
    for a, e in zip(g_c, g_e):
        assert_close(a, e, rtol=1e-12, atol=1e-12)


def test_state_dict_round_trip(device):
    module = randomize_(AmortizedTriangularSylvester(4, 3, 2, permute="reverse"), 0.5).to(device)
    state = module.state_dict()
    assert sorted(state) == sorted(f"head.{m}.{p}" for m in ("r1", "r2", "b") for p in ("weight", "bias"))
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    fresh = AmortizedTriangularSylvester(4, 3, 2, permute="reverse").to(device)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    z, h = inputs(5, 4, 3, device, torch.float32)
    for a, e in zip(fresh(z, h), module(z, h)):
        assert torch.equal(a, e)


def test_dtype_and_device_moves_keep_the_buffer(device):
    module = AmortizedTriangularSylvester(4, 3, 2).to(device, torch.float64)
    assert module.head.diag_index.device.type == device
    assert module.head.diag_index.dtype == torch.int64  # .to(dtype) leaves index buffers alone


# ---------------------------------------------------------------- errors and names


def test_errors_name_the_argument():
    flow = TriangularSylvester(3, 2)
    r1, r2, b = packed_params(4, 2, 3, "cpu", torch.float32)
    with pytest.raises(ValueError, match="z must have shape"):
        flow(torch.zeros(4, 5), r1, r2, b)
    with pytest.raises(ValueError, match="b must have shape"):
        flow(torch.zeros(4, 3), r1, r2, b[:, :1])
    with pytest.raises(ValueError, match="z_k must have shape"):
        flow.inverse(torch.zeros(4), r1, r2, b)
    with pytest.raises(ValueError, match="permute"):
        TriangularSylvester(3, 2, permute="shuffle")
    with pytest.raises(ValueError, match="one per flow step"):
        TriangularSylvester(3, 2, permute=[True])
    with pytest.raises(ValueError, match="num_flows must be a positive int"):
        TriangularSylvester(3, 0)
    with pytest.raises(ValueError, match="dim must be a positive int"):
        TriangularSylvesterHead(4, -1, 2)
    with pytest.raises(ValueError, match=r"h must have shape \[\.\.\., 4\]"):
        TriangularSylvesterHead(4, 3, 2)(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"h must have shape \[B, 4\]"):
        AmortizedTriangularSylvester(4, 3, 2)(torch.zeros(2, 3), torch.zeros(2, 1, 4))


def test_unbatched_features_share_the_parameters(device):
    module = randomize_(AmortizedTriangularSylvester(4, 3, 2), 0.5).to(device, torch.float64)
    z, h = inputs(5, 4, 3, device, torch.float64)
    z_shared, logdet_shared = module(z, h[0])
    z_each, logdet_each = module(z, h[:1].expand(5, 4))
    assert_close(z_shared, z_each, rtol=1e-14, atol=1e-14)
    assert_close(logdet_shared, logdet_each, rtol=1e-14, atol=1e-14)
    assert_close(module.inverse(z_shared, h[0]), z, rtol=1e-10, atol=1e-10)


def test_empty_batch():
    module = randomize_(AmortizedTriangularSylvester(4, 3, 2), 0.5)
    z_k, logdet = module(torch.zeros(0, 3), torch.zeros(0, 4))
    assert z_k.shape == (0, 3) and logdet.shape == (0,)


def test_public_names():
    for name in ("TriangularSylvester", "TriangularSylvesterHead", "AmortizedTriangularSylvester"):
        assert getattr(hvae_ext, name) is getattr(flows, name)
    assert flows.sylvester_triangular is hvae_ext.sylvester_triangular
    assert flows.sylvester_triangular_inverse is hvae_ext.sylvester_triangular_inverse
    assert "dim=3, num_flows=2, permute='alternate', diag_tanh=True" in repr(AmortizedTriangularSylvester(4, 3, 2))
