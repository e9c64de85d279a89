"""Property tests for the elementwise ops: one case per op, each run through the public
``tg.testing.check_op`` against a numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.nn import functional as F
from tinygrad_reg.ops import _erf
from tinygrad_reg.testing import strategies as S


@st.composite
def binary(draw, a=None, b=None):
    """(a, b) of mutually broadcastable shapes; ``a``/``b``: tensors() options for each."""
    sa, sb = draw(S.broadcastable_shapes(2))
    return draw(S.tensors(sa, **(a or {}))), draw(S.tensors(sb, **(b or {})))


@st.composite
def pow_scalar(draw):
    """(x, exponent): an integer power of a base kept 0.5 away from 0, or a fractional power
    of a positive base."""
    exponent = draw(st.sampled_from([2, 3, -1, 0, 1, 0.5, -1.5, 2.5]))
    if float(exponent).is_integer():
        x = draw(S.tensors(avoid=[0.0], margin=0.5, low=-2.0, high=2.0))
    else:  # a fractional power needs a positive base
        x = draw(S.tensors(positive=True, high=2.0))
    return x, exponent


@st.composite
def clip_inputs(draw):
    """(x, lo, hi): bounds or None (not both), and x kept 0.1 away from each bound (clip's
    kinks)."""
    lo = draw(st.sampled_from([-1.0, -0.5, None]))
    hi = draw(st.sampled_from([1.0, 0.5] if lo is None else [1.0, 0.5, None]))
    bounds = [b for b in (lo, hi) if b is not None]
    return draw(S.tensors(avoid=bounds, margin=0.1)), lo, hi


def _clip_ref(x, lo, hi):
    return np.minimum(np.maximum(x, -np.inf if lo is None else lo), np.inf if hi is None else hi)


def _lattice(lo, hi):
    """Tensors with values k + [lo, hi] for integers k in [-2, 2]: two such lattices with
    disjoint offsets never tie (the gap between them is at least the gap of the offsets)."""
    return {"elements": st.tuples(st.integers(-2, 2), st.floats(lo, hi)).map(
        lambda t: t[0] + t[1])}


@st.composite
def clamp_tensor_inputs(draw):
    """(x, lo, hi): tensor bounds from three disjoint lattices, so no value ties another (ties
    are the kinks; pinned below), lo > hi included (then out = hi)."""
    sx, sl, sh = draw(S.broadcastable_shapes(3))
    return (draw(S.tensors(sx, **_lattice(0.05, 0.25))),
            draw(S.tensors(sl, **_lattice(0.35, 0.55))),
            draw(S.tensors(sh, **_lattice(0.65, 0.85))))


# maximum/minimum: the operands come from disjoint lattices (k + [0, 0.3] and k + [0.5, 0.8]),
# so they differ by at least 0.2 wherever broadcasting pairs them: never a tie
_A = {"elements": st.tuples(st.integers(-2, 2), st.floats(0.0, 0.3)).map(lambda t: t[0] + t[1])}
_B = {"elements": st.tuples(st.integers(-2, 2), st.floats(0.5, 0.8)).map(lambda t: t[0] + t[1])}
_NONZERO = {"avoid": [0.0], "margin": 0.5}  # divisors: |b| >= 0.5


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


CASES = [
    case("add", lambda a, b: a + b, np.add, S.broadcastable_tensors(2)),
    case("sub", lambda a, b: a - b, np.subtract, S.broadcastable_tensors(2)),
    case("mul", lambda a, b: a * b, np.multiply, S.broadcastable_tensors(2)),
    case("div", lambda a, b: a / b, np.divide, binary(b=_NONZERO)),
    case("rsub_scalar", lambda a: 1.5 - a, lambda a: 1.5 - a, S.tensors()),
    case("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, S.tensors(**_NONZERO)),
    case("neg", lambda a: -a, np.negative, S.tensors()),
    case("pow_scalar", lambda a, exponent: a ** exponent,
         lambda a, exponent: np.power(a, float(exponent)), pow_scalar()),
    # (b = 0 is a kink of PyTorch's convention: da is 0 there, so d(da)/db jumps; pinned below)
    case("pow_tensor", lambda a, b: a ** b, np.power,
         binary(a={"positive": True, "high": 2.0}, b={"low": -2.0, "high": 2.0, "avoid": [0.0]})),
    case("rpow_scalar", lambda a: 2.0 ** a, lambda a: 2.0 ** a, S.tensors()),
    case("exp", tg.exp, np.exp, S.tensors()),
    case("log", tg.log, np.log, S.tensors(positive=True)),    # [0.5, 3]
    case("sqrt", tg.sqrt, np.sqrt, S.tensors(positive=True)),
    case("abs", tg.abs, np.abs, S.tensors(avoid=[0.0])),      # |x| >= 0.1: away from the kink
    case("maximum", tg.maximum, np.maximum, binary(_A, _B)),
    case("minimum", tg.minimum, np.minimum, binary(_B, _A)),
    case("where", tg.where, np.where, S.broadcastable_shapes(3).flatmap(
        lambda s: st.tuples(S.tensors(s[0], dtype=bool), S.tensors(s[1]), S.tensors(s[2])))),
    case("clip", lambda x, lo, hi: x.clip(lo, hi), _clip_ref, clip_inputs()),
    case("astype", lambda x: x.astype(np.float64).astype(x.dtype), lambda x: x, S.tensors()),
    case("sin", tg.sin, np.sin, S.tensors()),
    case("cos", tg.cos, np.cos, S.tensors()),
    case("tan", tg.tan, np.tan, S.tensors(low=-1.2, high=1.2)),  # away from the poles ±π/2
    # piecewise constant: zero gradient, checked away from the jumps (the jumps are pinned
    # by the exact kink values pinned in test_ops_activation.py)
    case("sign", tg.sign, np.sign, S.tensors(avoid=[0.0])),
    case("floor", tg.floor, np.floor, S.tensors(avoid=range(-3, 4))),
    case("ceil", tg.ceil, np.ceil, S.tensors(avoid=range(-3, 4))),
    case("trunc", tg.trunc, np.trunc, S.tensors(avoid=range(-3, 4))),
    case("round", tg.round, np.round, S.tensors(avoid=[k + 0.5 for k in range(-4, 4)])),
    case("round_decimals", lambda x: x.round(1), lambda x: np.round(x, 1),
         S.tensors(avoid=[k / 10 + 0.05 for k in range(-31, 31)], margin=0.01), eps=1e-7),
    case("log1p", tg.log1p, np.log1p, S.tensors(low=-0.5)),
    case("expm1", tg.expm1, np.expm1, S.tensors()),
    case("log2", tg.log2, np.log2, S.tensors(positive=True)),
    case("log10", tg.log10, np.log10, S.tensors(positive=True)),
    case("reciprocal", tg.reciprocal, np.reciprocal, S.tensors(**_NONZERO)),
    case("rsqrt", tg.rsqrt, lambda x: 1.0 / np.sqrt(x), S.tensors(positive=True)),
    case("square", tg.square, np.square, S.tensors()),
    case("erf", tg.erf, np.vectorize(math.erf, otypes=[np.float64]), S.tensors()),
    case("clamp_tensor_bounds", lambda x, lo: x.clamp(min=lo), np.maximum,
         binary(_A, _B)),
    case("clamp_tensor_max", lambda x, hi: x.clamp(max=hi), np.minimum, binary(_A, _B)),
    case("clamp_tensor_both", lambda x, lo, hi: x.clamp(lo, hi),
         lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi), clamp_tensor_inputs()),
    case("masked_fill", lambda x, m: x.masked_fill(m, 0.5), lambda x, m: np.where(m, 0.5, x),
         S.broadcastable_shapes(2).filter(lambda s: np.broadcast_shapes(*s) == s[0]).flatmap(
             lambda s: st.tuples(S.tensors(s[0]), S.tensors(s[1], dtype=bool)))),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)


# -- conventions at the edges, pinned against PyTorch 2.13 (float64) ---------------------------

nan, inf = math.nan, math.inf
# numpy warns where these edges produce inf or nan (0 ** -1, log 0); the values are the point
edge = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def t64(values, grad=True):
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=grad)


def assert_same(got, want):
    """Equal up to rounding, with nan where want has nan and infinities of the same sign."""
    got = np.asarray(got.numpy() if isinstance(got, tg.Tensor) else got, dtype=np.float64)
    np.testing.assert_allclose(got, np.asarray(want, dtype=np.float64), rtol=1e-15, atol=0)


def derivatives(fn, *values):
    """(out, first derivatives, second derivatives) of an elementwise fn: the second are
    d(d_i)/d(input_j) of the sum of each first derivative, [i][j]."""
    xs = [t64(v) for v in values]
    out = fn(*xs)
    first = tg.grad(out.sum(), xs, create_graph=True)
    second = []
    for g in first:
        if g.requires_grad:
            hs = tg.grad(g.sum(), xs, retain_graph=True, allow_unused=True)
            second.append([np.zeros(len(values[0])) if h is None else h.numpy() for h in hs])
        else:  # a constant first derivative (x ** 0): the second is 0
            second.append([np.zeros(len(values[0]))] * len(xs))
    return out.numpy(), [g.numpy() for g in first], second


POW_A = [-2.0, 0.0, 1.5]
POW_B = [-1.0, 0.0, 0.5, 1.0, 2.0]
GRID = [(a, b) for a in POW_A for b in POW_B]
# a ** b for tensors on GRID (a-major), from PyTorch 2.13: d(a^b)/db at a = 0 is 0 for b >= 0,
# -inf for b < 0; da is 0 where b = 0; the second derivatives (nan where PyTorch's are) follow
POW_TENSOR = {
    "out": [-0.5, 1.0, nan, -2.0, 4.0, inf, 1.0, 0.0, 0.0, 0.0, 0.6666666666666666, 1.0,
            1.224744871391589, 1.5, 2.25],
    "da": [-0.25, 0.0, nan, 1.0, -4.0, -inf, 0.0, inf, 1.0, 0.0, -0.4444444444444444, 0.0,
           0.408248290463863, 1.0, 3.0],
    "db": [nan, nan, nan, nan, nan, -inf, 0.0, 0.0, 0.0, 0.0, 0.27031007207210955,
           0.4054651081081644, 0.4965913116837105, 0.6081976621622466, 0.9122964932433699],
    "d(da)/da": [-0.25, -0.0, nan, 0.0, 2.0, inf, nan, -inf, 0.0, 2.0, 0.5925925925925926,
                 -0.0, -0.13608276348795434, 0.0, 2.0],
    "d(da)/db": [nan, nan, nan, nan, nan, inf, nan, nan, 1.0, 0.0, 0.2642377297297047, 0.0,
                 0.9820270181556295, 1.4054651081081644, 2.716395324324493],
    "d(db)/da": [nan, -0.5, nan, nan, nan, inf, nan, nan, nan, nan, 0.2642377297297047,
                 0.6666666666666666, 0.9820270181556294, 1.4054651081081644,
                 2.716395324324493],
    "d(db)/db": [nan, nan, nan, nan, nan, inf, nan, nan, nan, nan, 0.10960130259544361,
                 0.16440195389316542, 0.20135044987741083, 0.24660293083974816,
                 0.36990439625962224],
}


@edge
def test_pow_of_two_tensors_matches_pytorch_at_zero_negative_and_positive_bases():
    out, (da, db), ((haa, hab), (hba, hbb)) = derivatives(
        lambda a, b: a ** b, [a for a, _ in GRID], [b for _, b in GRID])
    for name, got in (("out", out), ("da", da), ("db", db), ("d(da)/da", haa),
                      ("d(da)/db", hab), ("d(db)/da", hba), ("d(db)/db", hbb)):
        assert_same(got, POW_TENSOR[name])


# number ** tensor over POW_B, from PyTorch 2.13: (out, d/db, d²/db²)
RPOW = {
    0.0: ([inf, 1.0, 0.0, 0.0, 0.0], [-inf, 0.0, 0.0, 0.0, 0.0], [inf, nan, nan, nan, nan]),
    2.0: ([0.5, 1.0, 1.4142135623730951, 2.0, 4.0],
          [0.34657359027997264, 0.6931471805599453, 0.9802581434685472, 1.3862943611198906,
           2.772588722239781],
          [0.2402265069591007, 0.4804530139182014, 0.6794631683661498, 0.9609060278364028,
           1.9218120556728056]),
    -2.0: ([-0.5, 1.0, nan, -2.0, 4.0], [nan] * 5, [nan] * 5),
}


@edge
@pytest.mark.parametrize("base", sorted(RPOW))
def test_number_to_a_tensor_power_matches_pytorch(base):
    out, (db,), ((hbb,),) = derivatives(lambda b: base ** b, POW_B)
    for got, want in zip((out, db, hbb), RPOW[base]):
        assert_same(got, want)


# tensor ** number over POW_A, from PyTorch 2.13: (out, d/da, d²/da²); exponent 0 has
# derivative exactly 0 (also at a = 0, where 0·0⁻¹ would be nan)
POW_NUMBER = {
    -1: ([-0.5, inf, 0.6666666666666666], [-0.25, -inf, -0.4444444444444444],
         [-0.25, inf, 0.5925925925925926]),
    0: ([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
    0.5: ([nan, 0.0, 1.224744871391589], [nan, inf, 0.4082482904638631],
          [nan, -inf, -0.13608276348795434]),
    1: ([-2.0, 0.0, 1.5], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]),
    2: ([4.0, 0.0, 2.25], [-4.0, 0.0, 3.0], [2.0, 2.0, 2.0]),
    3: ([-8.0, 0.0, 3.375], [12.0, 0.0, 6.75], [-12.0, 0.0, 9.0]),
    -1.5: ([nan, inf, 0.5443310539518174], [nan, -inf, -0.5443310539518174],
           [nan, inf, 0.9072184232530289]),
}


@edge
@pytest.mark.parametrize("exponent", sorted(POW_NUMBER))
def test_tensor_to_a_number_power_matches_pytorch(exponent):
    out, (da,), ((haa,),) = derivatives(lambda a: a ** exponent, POW_A)
    for got, want in zip((out, da, haa), POW_NUMBER[exponent]):
        assert_same(got, want)


CLAMP_X = [-3.0, -1.0, 0.0, 1.0, 3.0, nan]
# x.clamp(lo, hi) on CLAMP_X, from PyTorch 2.13: (out, dx). A value equal to a bound passes
# the gradient; lo > hi gives hi everywhere and no gradient; a nan bound gives nan
CLAMP = {
    (-1.0, 1.0): ([-1.0, -1.0, 0.0, 1.0, 1.0, nan], [0.0, 1.0, 1.0, 1.0, 0.0, 0.0]),
    (-1.0, None): ([-1.0, -1.0, 0.0, 1.0, 3.0, nan], [0.0, 1.0, 1.0, 1.0, 1.0, 0.0]),
    (None, 1.0): ([-3.0, -1.0, 0.0, 1.0, 1.0, nan], [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]),
    (1.0, -1.0): ([-1.0] * 5 + [nan], [0.0] * 6),
    (0.0, 0.0): ([0.0] * 5 + [nan], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]),
    (nan, 1.0): ([nan] * 6, [0.0] * 6),
}


@edge
@pytest.mark.parametrize("bounds", list(CLAMP), ids=str)
@pytest.mark.parametrize("spelling", ["clamp", "clip", "tg.clip"])
def test_clamp_with_number_bounds_matches_pytorch(bounds, spelling):
    lo, hi = bounds
    fn = {"clamp": lambda x: x.clamp(lo, hi), "clip": lambda x: x.clip(lo, hi),
          "tg.clip": lambda x: tg.clip(x, min=lo, max=hi)}[spelling]
    x = t64(CLAMP_X)
    out = fn(x)
    out.sum().backward()
    want_out, want_dx = CLAMP[bounds]
    np.testing.assert_array_equal(out.numpy(), want_out)
    np.testing.assert_array_equal(x.grad.numpy(), want_dx)


# torch.clamp(x, lo, hi) with tensor bounds (each filled with one value), from PyTorch 2.13:
# (out, dx, dlo, dhi). With lo > hi, hi takes all of the gradient; with lo = hi and x < lo,
# nobody does
CLAMP_TENSOR = {
    (-1.0, 1.0): ([-1.0, -1.0, 0.0, 1.0, 1.0, nan], [0.0, 1.0, 1.0, 1.0, 0.0, 0.0],
                  [1.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
    (1.0, -1.0): ([-1.0] * 5 + [nan], [0.0] * 6, [0.0] * 6, [1.0] * 6),
    (0.0, 0.0): ([0.0] * 5 + [nan], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0], [0.0] * 6,
                 [0.0, 0.0, 0.0, 1.0, 1.0, 0.0]),
    (-1.0, None): ([-1.0, -1.0, 0.0, 1.0, 3.0, nan], [0.0, 1.0, 1.0, 1.0, 1.0, 0.0],
                   [1.0, 0.0, 0.0, 0.0, 0.0, 0.0], None),
    (None, 1.0): ([-3.0, -1.0, 0.0, 1.0, 1.0, nan], [1.0, 1.0, 1.0, 1.0, 0.0, 0.0], None,
                  [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
}


@edge
@pytest.mark.parametrize("bounds", list(CLAMP_TENSOR), ids=str)
def test_clamp_with_tensor_bounds_matches_pytorch(bounds):
    x = t64(CLAMP_X)
    lo, hi = (None if b is None else t64([b] * 6) for b in bounds)
    out = x.clamp(lo, hi)
    out.sum().backward()
    want = CLAMP_TENSOR[bounds]
    np.testing.assert_array_equal(out.numpy(), want[0])
    for t, w in zip((x, lo, hi), want[1:]):
        if w is not None:
            np.testing.assert_array_equal(t.grad.numpy(), w)


@edge
def test_clamp_with_nan_tensor_bounds_and_broadcast_bounds():
    # PyTorch 2.13: a nan bound gives nan there and no gradient to anyone
    x, lo, hi = t64(CLAMP_X), t64([nan, -1, -1, -1, -1, -1]), t64([1, 1, 1, nan, 1, 1])
    out = x.clamp(lo, hi)
    out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), [nan, -1.0, 0.0, nan, 1.0, nan])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(lo.grad.numpy(), [0.0] * 6)
    np.testing.assert_array_equal(hi.grad.numpy(), [0.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    # 0-d tensor bounds broadcast, and their gradient is summed (PyTorch: 1.0 and 1.0)
    x, lo, hi = t64(CLAMP_X), t64(-1.0), t64(1.0)
    x.clamp(lo, hi).sum().backward()
    assert (lo.grad.item(), hi.grad.item()) == (1.0, 1.0)


@edge
def test_hardtanh_and_relu6_keep_pytorchs_strict_convention():
    # PyTorch 2.13: 0 at the bounds, and a nan passes its gradient
    for fn, want_out, want_dx in (
            (tg.nn.functional.hardtanh, [-1.0, -1.0, 0.0, 1.0, 1.0, nan],
             [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]),
            (tg.nn.functional.relu6, [0.0, 0.0, 0.0, 1.0, 3.0, nan],
             [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])):
        x = t64(CLAMP_X)
        out = fn(x)
        out.sum().backward()
        np.testing.assert_array_equal(out.numpy(), want_out)
        np.testing.assert_array_equal(x.grad.numpy(), want_dx)


def test_clamp_without_bounds_is_an_error():
    with pytest.raises(ValueError, match="give min, max or both"):
        t64([1.0]).clamp()
    with pytest.raises(ValueError, match="give min, max or both"):
        tg.clip(t64([1.0]), None, None)

# -- clamp at its bounds, and erf against math.erf --------------------------------------------

def grad_of(fn, values):
    x = t64(values)
    out = fn(x)
    out.sum().backward()
    return out.numpy(), x.grad.numpy()


KINKS = [-3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 10.0]


def test_clamp_passes_the_gradient_at_its_bounds_and_hardtanh_does_not():
    # PyTorch 2.13's two conventions: clamp passes it on [min, max], hardtanh (and relu6)
    # strictly inside
    _, g = grad_of(lambda x: x.clamp(-1.0, 1.0), KINKS)
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    _, g = grad_of(F.hardtanh, KINKS)
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0])


def test_tensor_bounds_in_clamp_send_the_gradient_to_the_winner():
    x, lo = t64([0.5, -2.0, 1.0]), t64([0.0, 0.0, 0.0])
    x.clamp(min=lo).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(lo.grad.numpy(), [0.0, 1.0, 0.0])


ERF_POINTS = np.concatenate([np.linspace(-7, 7, 20001), [0.0, -0.0, 1e-300, -1e-300, 5e-324,
                                                          2.0, -2.0, 6.0, -6.0, 26.0],
                             np.logspace(-300, 0.8, 500), -np.logspace(-12, 0.8, 200)])


@pytest.mark.parametrize("impl", ["selected", "numpy"])
def test_erf_matches_math_erf_to_1e13(impl):
    fn = _erf.erf if impl == "selected" else _erf.erf_numpy
    got = fn(ERF_POINTS)
    want = np.array([math.erf(v) for v in ERF_POINTS])
    rel = np.abs(got - want) / np.maximum(np.abs(want), 1e-300)
    assert rel.max() < 1e-13, (rel.max(), ERF_POINTS[rel.argmax()])
    assert np.all(fn(np.array([np.inf, -np.inf])) == [1.0, -1.0])
    assert np.isnan(fn(np.array([np.nan]))).all()
    assert fn(np.ones(3, np.float32)).dtype == np.float32


def test_erf_gradient():
    _, g = grad_of(tg.erf, [0.0, 1.0, -2.0])
    np.testing.assert_allclose(g, 2 / math.sqrt(math.pi) * np.exp(-np.array([0.0, 1.0, 4.0])),
                               rtol=1e-14)



def _erf_f32_ulps(x: np.ndarray) -> np.ndarray:
    """|erf_float32(x) - erf(x)| in float32 ulps (the spacing at the true value)."""
    want = np.array([math.erf(v) for v in x.astype(np.float64)])
    got = _erf.erf_float32(x).astype(np.float64)
    return np.abs(got - want) / np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)


def test_erf_float32_is_within_4_ulp_on_a_dense_grid_and_odd():
    # every 4099th float32 of [0, 4.5] (about 260,000, with the subnormals), and random
    # float32 of [0, 4.5]: the module states 3.67 ulp, measured over every float32 of [0, 4.5]
    bits = np.arange(0, np.array(4.5, np.float32).view(np.int32), 4099, dtype=np.int32)
    rand = np.random.default_rng(0).uniform(0, 4.5, 100_000).astype(np.float32)
    for x in (bits.view(np.float32), rand):
        err = _erf_f32_ulps(x)
        assert err.max() <= 4.0, (err.max(), x[err.argmax()])
        np.testing.assert_array_equal(_erf.erf_float32(-x), -_erf.erf_float32(x))


def test_erf_float32_tail_is_exactly_one_where_the_rounded_erf_is():
    # 3.9192059 is the least float32 whose erf rounds to 1; below it erf rounds below 1
    x = np.arange(np.array(3.9, np.float32).view(np.int32),
                  np.array(4.2, np.float32).view(np.int32), dtype=np.int32).view(np.float32)
    want = np.array([math.erf(v) for v in x.astype(np.float64)]).astype(np.float32)
    got = _erf.erf_float32(x)
    np.testing.assert_array_equal(got[want == 1.0], 1.0)
    assert np.abs(got - want).max() <= np.spacing(np.float32(0.5))  # a float32 ulp below 1
    edge = np.array([3.9192059, -3.9192059, 4.0, 30.0, 3e38, np.inf, -np.inf], np.float32)
    np.testing.assert_array_equal(_erf.erf_float32(edge), [1, -1, 1, 1, 1, 1, -1])
    special = _erf.erf_float32(np.array([np.nan, -0.0, 0.0, 1e-45], np.float32))
    assert np.isnan(special[0]) and np.signbit(special[1]) and not np.signbit(special[2])
    assert special[3] == np.float32(1e-45)  # erf(x) ≈ 1.128 x rounds to the least subnormal


def test_erf_keeps_float32_and_float16_and_0d():
    x32 = np.array(0.5, np.float32)
    assert _erf.erf(x32).dtype == np.float32 and _erf.erf(x32).shape == ()
    assert abs(float(_erf.erf(x32)) - math.erf(0.5)) < 1e-7
    x16 = np.array([0.5, -2.0], np.float16)
    np.testing.assert_array_equal(_erf.erf(x16), np.array([math.erf(0.5), math.erf(-2.0)],
                                                          np.float16))


# -- tg.normal: PyTorch's torch.normal --------------------------------------------------------

def test_normal_with_number_mean_and_std_is_a_tensor_of_the_size():
    w = tg.normal(0, 0.01, (200, 1), requires_grad=True)  # a textbook's initial weights
    assert w.shape == (200, 1) and w.dtype == np.float32 and w.requires_grad and w.is_leaf
    assert tg.normal(0.0, 1.0, size=[2, 3]).shape == (2, 3)
    assert tg.normal(1.0, 2.0, 5).shape == (5,)  # an int size (PyTorch: a tuple only)
    x = tg.normal(2.0, 3.0, (4,), generator=np.random.default_rng(0), dtype=tg.float64)
    eps = np.random.default_rng(0).standard_normal(4)
    np.testing.assert_array_equal(x.numpy(), eps * 3.0 + 2.0)
    y = tg.normal(2.0, 3.0, (4,), generator=np.random.default_rng(0))
    eps32 = np.random.default_rng(0).standard_normal(4, dtype=np.float32)
    np.testing.assert_array_equal(y.numpy(), eps32 * np.float32(3.0) + np.float32(2.0))
    assert not tg.normal(0, 1, (2,)).requires_grad
    np.testing.assert_array_equal(tg.normal(1.5, 0.0, (3,)).numpy(), [1.5, 1.5, 1.5])
    big = tg.normal(-1.0, 0.5, (200_000,), generator=np.random.default_rng(1)).numpy()
    assert abs(big.mean() + 1.0) < 0.005 and abs(big.std() - 0.5) < 0.005
    assert tg.normal(0, 1, (2, 2), dtype=tg.float16).dtype == np.float16


def test_normal_with_tensor_means_or_stds_draws_per_element():
    gen = np.random.default_rng(2)
    mean = tg.tensor([[0.0], [10.0], [20.0]], dtype=tg.float64)
    std = tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64)
    out = tg.normal(mean, std, generator=gen)
    eps = np.random.default_rng(2).standard_normal((3, 4))
    assert out.shape == (3, 4) and out.dtype == np.float64
    np.testing.assert_array_equal(out.numpy(), mean.numpy() + std.numpy() * eps)
    assert tg.normal(tg.zeros(3)).dtype == np.float32  # std = 1 by default
    assert tg.normal(tg.zeros(3), 2.0).shape == (3,)
    assert tg.normal(0.0, tg.ones(2, 2, dtype=tg.float64)).dtype == np.float64
    assert not tg.normal(tg.zeros(3), 1.0).requires_grad


def test_normal_gives_zero_gradient_to_mean_and_std_as_pytorch():
    # PyTorch 2.13: torch.normal(m, s) with m, s requiring grad has a grad_fn, and backward
    # gives m.grad = s.grad = zeros (the sample is not differentiated through its parameters)
    m = t64([0.5, -1.0, 2.0])
    s = t64([1.0, 0.1, 3.0])
    out = tg.normal(m, s)
    assert out.requires_grad and out.grad_fn.name == "Normal"
    (out * out).sum().backward()
    assert m.grad.tolist() == [0.0, 0.0, 0.0] and s.grad.tolist() == [0.0, 0.0, 0.0]
    m1 = t64([[1.0, 2.0]])
    tg.normal(m1, 2.0).sum().backward()  # one tensor parameter
    assert m1.grad.tolist() == [[0.0, 0.0]]
    s1 = t64([1.0])
    tg.normal(t64([0.0, 0.0, 0.0], grad=False), s1).sum().backward()  # broadcast std
    assert s1.grad.tolist() == [0.0]
    m2 = t64([0.0, 1.0])
    (g,) = tg.grad(tg.normal(m2, 1.0).sum(), [m2], create_graph=True)
    assert g.tolist() == [0.0, 0.0]


def test_normal_refuses_what_pytorch_refuses():
    with pytest.raises(ValueError, match=r"normal: std must be >= 0 everywhere, got -1.0"):
        tg.normal(0.0, -1.0, (2,))
    with pytest.raises(ValueError, match="std must be >= 0 everywhere, got nan"):
        tg.normal(0.0, float("nan"), (2,))
    with pytest.raises(ValueError, match="got -2.0 in the std tensor"):
        tg.normal(tg.zeros(2), tg.tensor([1.0, -2.0]))
    with pytest.raises(TypeError, match=r"give the size: normal\(mean, std, size\)"):
        tg.normal(0.0, 1.0)
    with pytest.raises(TypeError, match="takes no size, dtype or requires_grad"):
        tg.normal(tg.zeros(3), 1.0, (3,))
    with pytest.raises(TypeError, match="takes no size, dtype or requires_grad"):
        tg.normal(tg.zeros(3), 1.0, requires_grad=True)
    with pytest.raises(TypeError, match="dtype must be a float dtype, got int64"):
        tg.normal(2, 3, (2,), dtype=tg.int64)
    with pytest.raises(TypeError, match="mean must be a floating-point tensor, got dtype int64"):
        tg.normal(tg.zeros(3, dtype=tg.int64), 1.0)
    with pytest.raises(TypeError, match="std must be a number or a Tensor, got str"):
        tg.normal(0.0, "1", (2,))
    with pytest.raises(TypeError, match="mean must be a number or a Tensor, got bool"):
        tg.normal(True, 1.0, (2,))
    with pytest.raises(ValueError, match=r"the shapes of mean \(4,\) and std \(2, 2\) do not"):
        tg.normal(tg.zeros(4), tg.ones(2, 2))
    with pytest.raises(ValueError, match="device 'cuda' is not available"):
        tg.normal(0, 1, (2,), device="cuda")


def test_normal_draws_afresh_in_a_jit_replay():
    def run(compiled):
        tg.manual_seed(5)
        w = tg.zeros(3, requires_grad=True)

        def step(w):
            noise = tg.normal(0.0, 0.1, (3,)) + tg.normal(w, 0.5)
            return (w + noise).sum()

        fn = tg.jit(step) if compiled else step
        return [fn(w).item() for _ in range(4)]

    eager = run(False)
    assert run(True) == eager and len(set(eager)) == 4
