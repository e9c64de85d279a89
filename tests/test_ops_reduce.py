"""Property tests for the reductions: one case per op, each run through the public
``tg.testing.check_op`` against a numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_reg as tg
import tinygrad_reg.nn.functional as F
from tinygrad_reg.ops.reduce import LinearScan
from tinygrad_reg.testing import strategies as S


def axes(ndim: int) -> st.SearchStrategy:
    """None, a single (possibly negative) axis, or a tuple of distinct axes."""
    options = [st.none(), hnp.valid_tuple_axes(ndim)]
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    return st.one_of(*options)


def _distinct(shape):
    """Tensors with pairwise distinct values: the extreme is never tied (ties are pinned by
    exact tests)."""
    return S.distinct_arrays(shape).map(lambda a: tg.Tensor(a, requires_grad=True))


@st.composite
def reduction(draw, tensors=S.tensors):
    """(x, axis, keepdims)."""
    x = draw(tensors(S.shapes()))
    return x, draw(axes(x.ndim)), draw(st.booleans())


@st.composite
def var_inputs(draw):
    """(x, axis, keepdims, ddof)."""
    x, axis, keepdims = draw(reduction())
    reduced = range(x.ndim) if axis is None else np.atleast_1d(axis)
    n = int(np.prod([x.shape[i] for i in reduced]))
    # ddof = 1 needs two elements per reduction, or the variance is 0/0
    return x, axis, keepdims, draw(st.sampled_from([0, 1] if n >= 2 else [0]))


def _ref_logsumexp(x, axis, keepdims):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


@st.composite
def std_inputs(draw):
    """(x, axis, keepdims) with at least two distinct elements per reduction: at zero
    variance std has a kink (its gradient is PyTorch's 0 there; pinned below), and one
    sample is nan."""
    x, axis, keepdims = draw(reduction(_distinct))
    reduced = range(x.ndim) if axis is None else np.atleast_1d(axis)
    if int(np.prod([x.shape[i] for i in reduced])) < 2:
        x = draw(_distinct((2, 3)))
        axis = None
    return x, axis, keepdims


def _with_zeros(shape):
    """Tensors some of whose elements are exactly 0: prod's and cumprod's gradients must be
    exact there (the product of the others), and finite differences check them (the
    product is multilinear, smooth through 0)."""
    elements = st.one_of(st.just(0.0), st.floats(-2.0, 2.0))
    return S.tensors(shape, elements=elements)


def _away_from_zero(shape):
    return S.tensors(shape, avoid=[0.0], margin=0.2)


def _distinct_abs(shape):
    """Distinct absolute values, away from 0: max |x| has no tie and no kink."""
    return S.distinct_arrays(shape, low=0.2, high=3.0, gap=0.05).flatmap(
        lambda a: hnp.arrays(np.float64, a.shape, elements=st.sampled_from([-1.0, 1.0])).map(
            lambda signs: tg.Tensor(a * signs, requires_grad=True)))


@st.composite
def scan_inputs(draw):
    """(g, c, reverse): a recurrence's inputs and coefficients (zeros included)."""
    shape = draw(S.shapes(min_dims=1))
    return draw(S.tensors(shape)), draw(_with_zeros(shape)), draw(st.booleans())


def _ref_scan(g, c, reverse):
    out = np.array(g, dtype=np.float64)
    n = out.shape[-1]
    steps = range(n - 2, -1, -1) if reverse else range(1, n)
    for k in steps:
        out[..., k] += c[..., k + 1] * out[..., k + 1] if reverse else c[..., k] * out[..., k - 1]
    return out


@st.composite
def along(draw, tensors):
    """(x, dim) for a scan: x of at least one dim, dim one of its dims."""
    x = draw(tensors(S.shapes(min_dims=1)))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))



def _ref_cum(extreme, takes_over):
    """(values, indices) of a running extreme along dim; a later tie takes over."""
    def ref(x, dim):
        values = extreme.accumulate(x, axis=dim)
        moved_x, moved_v = np.moveaxis(x, dim, -1), np.moveaxis(values, dim, -1)
        index = np.zeros(moved_x.shape, dtype=np.int64)
        for i in range(1, moved_x.shape[-1]):
            better = takes_over(moved_x[..., i], moved_v[..., i - 1])
            index[..., i] = np.where(better, i, index[..., i - 1])
        return values, np.moveaxis(index, -1, dim)
    return ref


@st.composite
def normalize_inputs(draw):
    """(x, p, dim): x of at least one dim away from 0 (|x| is a kink), a p, one of x's dims."""
    x, dim = draw(along(_away_from_zero))
    return x, draw(st.sampled_from([2.0, 1.0, 3.0, 0.5, -1.0])), dim


def _ref_normalize(x, p, dim):
    n = np.sum(np.abs(x) ** p, axis=dim, keepdims=True) ** (1.0 / p)
    return x / np.maximum(n, 1e-12)


CASES = [
    case("sum", lambda x, axis, keepdims: x.sum(axis, keepdims),
         lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims), reduction()),
    case("mean", lambda x, axis, keepdims: x.mean(axis, keepdims),
         lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims), reduction()),
    case("max", lambda x, axis, keepdims: x.amax(axis=axis, keepdims=keepdims),
         lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
         reduction(_distinct)),
    case("min", lambda x, axis, keepdims: x.amin(axis=axis, keepdims=keepdims),
         lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
         reduction(_distinct)),
    case("var", lambda x, axis, keepdims, ddof: x.var(axis=axis, keepdims=keepdims, ddof=ddof),
         lambda x, axis, keepdims, ddof: np.var(x, axis=axis, keepdims=keepdims, ddof=ddof),
         var_inputs()),
    case("logsumexp", lambda x, axis, keepdims: tg.logsumexp(x, axis, keepdims),
         _ref_logsumexp, reduction()),
    case("std", lambda x, axis, keepdims: x.std(axis, keepdim=keepdims),
         lambda x, axis, keepdims: np.std(x, axis=axis, keepdims=keepdims, ddof=1),
         std_inputs()),
    case("prod", lambda x, axis, keepdims: x.prod(axis, keepdims),
         lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
         reduction(_with_zeros)),
    case("cumsum", lambda x, dim: x.cumsum(dim), lambda x, dim: np.cumsum(x, axis=dim),
         along(S.tensors)),
    case("cumprod", lambda x, dim: x.cumprod(dim), lambda x, dim: np.cumprod(x, axis=dim),
         along(_with_zeros)),
    case("norm_2", lambda x, axis, keepdims: x.norm(2, axis, keepdims),
         lambda x, axis, keepdims: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)),
         reduction(_away_from_zero)),
    case("norm_3", lambda x, axis, keepdims: x.norm(3, axis, keepdims),
         lambda x, axis, keepdims: np.sum(np.abs(x) ** 3, axis=axis, keepdims=keepdims)
         ** (1 / 3), reduction(_away_from_zero)),
    case("norm_1", lambda x, axis, keepdims: x.norm(1, axis, keepdims),
         lambda x, axis, keepdims: np.sum(np.abs(x), axis=axis, keepdims=keepdims),
         reduction(_away_from_zero)),
    case("norm_inf", lambda x, axis, keepdims: x.norm(np.inf, axis, keepdims),
         lambda x, axis, keepdims: np.max(np.abs(x), axis=axis, keepdims=keepdims),
         reduction(_distinct_abs)),
    case("cummax", lambda x, dim: tg.cummax(x, dim), _ref_cum(np.maximum, np.greater_equal),
         along(_distinct)),
    case("cummin", lambda x, dim: x.cummin(dim), _ref_cum(np.minimum, np.less_equal),
         along(_distinct)),
    case("logcumsumexp", lambda x, dim: x.logcumsumexp(dim),
         lambda x, dim: np.logaddexp.accumulate(x, axis=dim), along(S.tensors)),
    case("std_mean", lambda x, axis, keepdims: tg.std_mean(x, axis, keepdim=keepdims),
         lambda x, axis, keepdims: (np.std(x, axis=axis, keepdims=keepdims, ddof=1),
                                    np.mean(x, axis=axis, keepdims=keepdims)), std_inputs()),
    case("var_mean", lambda x, axis, keepdims: x.var_mean(axis, correction=0, keepdim=keepdims),
         lambda x, axis, keepdims: (np.var(x, axis=axis, keepdims=keepdims),
                                    np.mean(x, axis=axis, keepdims=keepdims)), reduction()),
    case("norm_-1", lambda x, axis, keepdims: x.norm(-1, axis, keepdims),
         lambda x, axis, keepdims: np.sum(np.abs(x) ** -1.0, axis=axis, keepdims=keepdims)
         ** -1.0, reduction(_away_from_zero)),
    case("normalize", lambda x, p, dim: F.normalize(x, p, dim), _ref_normalize,
         normalize_inputs()),
    case("linear_scan", lambda g, c, rev: LinearScan.apply(g, c, reverse=rev), _ref_scan,
         scan_inputs()),
    case("amax", lambda x, axis, keepdims: tg.amax(x, axis, keepdims),
         lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
         reduction(_distinct)),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)


# -- std and var at their edges, pinned against PyTorch 2.13 (float64) -------------------------

nan, inf = float("nan"), float("inf")

# (values, fn, PyTorch's (out, d out.sum(), d² as the gradient of the first derivative's sum))
STD_VAR_EDGES = {
    # a nan among the values: nan, never hidden as 0
    "std_with_nan": ([1.0, nan, 3.0], lambda x: x.std(), (nan, [nan] * 3, [nan] * 3)),
    "var_with_nan": ([1.0, nan, 3.0], lambda x: x.var(), (nan, [nan] * 3, [0.0] * 3)),
    # one sample: unbiased is 0/0 = nan for both; correction=0 gives 0 with gradient 0
    "std_one_sample": ([2.0], lambda x: x.std(), (nan, [nan], [nan])),
    "var_one_sample": ([2.0], lambda x: x.var(), (nan, [nan], [0.0])),
    "std_one_sample_correction_0": ([2.0], lambda x: x.std(correction=0), (0.0, [0.0], [0.0])),
    "var_one_sample_correction_0": ([2.0], lambda x: x.var(correction=0), (0.0, [0.0], [0.0])),
    # zero variance: std's gradient is 0 there (the derivative of √ at 0 is infinite)
    "std_constant": ([1.0, 1.0, 1.0], lambda x: x.std(), (0.0, [0.0] * 3, [0.0] * 3)),
    "var_constant": ([1.0, 1.0, 1.0], lambda x: x.var(), (0.0, [0.0] * 3, [0.0] * 3)),
    # per row: a constant row, an ordinary one, a row with a nan
    "std_rows": ([[1.0, 1.0], [1.0, 3.0], [nan, 0.0]], lambda x: x.std(1),
                 ([0.0, 1.4142135623730951, nan],
                  [[0.0, 0.0], [-0.7071067811865475, 0.7071067811865475], [nan, nan]],
                  [[0.0, 0.0], [0.0, 0.0], [nan, nan]])),
    "std_one_sample_per_column": ([[1.0, 2.0, 3.0]], lambda x: x.std(0),
                                  ([nan] * 3, [[nan] * 3], [[nan] * 3])),
    "std_one_sample_per_column_correction_0": ([[1.0, 2.0, 3.0]],
                                               lambda x: x.std(0, correction=0),
                                               ([0.0] * 3, [[0.0] * 3], [[0.0] * 3])),
    # n - correction <= 0 over all elements: the factor 2/(n - correction) is +inf
    "var_correction_n": ([1.0, 2.0], lambda x: x.var(correction=2),
                         (inf, [inf, inf], [0.0, 0.0])),
    "var_correction_n_constant": ([1.0, 1.0], lambda x: x.var(correction=2),
                                  (nan, [nan, nan], [0.0, 0.0])),
    "var_correction_above_n": ([1.0, 2.0], lambda x: x.var(correction=3),
                               (inf, [inf, inf], [0.0, 0.0])),
    "std_correction_above_n": ([1.0, 2.0], lambda x: x.std(correction=3),
                               (inf, [nan, nan], [nan, nan])),
    # ... over a dim it is 2/(n - correction) as it comes: inf · (x - mean)
    "var_correction_n_over_a_dim": ([[1.0, 2.0]], lambda x: x.var(1, correction=2),
                                    ([inf], [[-inf, inf]], [[nan, nan]])),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy: "Degrees of freedom <= 0"
@pytest.mark.parametrize("name", list(STD_VAR_EDGES))
def test_std_and_var_at_their_edges_match_pytorch(name):
    values, fn, (want_out, want_d, want_d2) = STD_VAR_EDGES[name]
    x = tg.Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    out = fn(x)
    (d,) = tg.grad(out.sum(), x, create_graph=True)
    (d2,) = tg.grad(d.sum(), x, allow_unused=True) if d.requires_grad else (None,)
    d2 = np.zeros(x.shape) if d2 is None else d2.numpy()
    for got, want in ((out.numpy(), want_out), (d.numpy(), want_d), (d2, want_d2)):
        np.testing.assert_allclose(got, np.asarray(want, dtype=np.float64), rtol=1e-15, atol=0)

# -- products, scans and norms at zeros: exact values -----------------------------------------

def t64(values, grad=True):
    return tg.Tensor(np.array(values, dtype=np.float64), requires_grad=grad)


def grad_of(fn, values):
    x = t64(values)
    out = fn(x)
    out.sum().backward()
    return out.numpy(), x.grad.numpy()


def test_prod_and_cumprod_gradients_are_exact_at_zeros():
    values = [[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.5, 2.0, -1.0]]
    _, g = grad_of(lambda x: x.prod(1), values)
    np.testing.assert_array_equal(g, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [-2.0, -1.5, 3.0]])
    x = t64(values)
    (x.cumprod(1) * tg.tensor([1.0, 2.0, 3.0], dtype=np.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 22.0, 0.0], [1.0, 0.0, 0.0],
                                                [-1.0, -1.5, 9.0]])


def test_second_derivatives_of_products_through_zeros():
    # d²/dx_0 dx_1 of (x0·x1·x2) = x2, also when x0 = x1 = 0
    x = t64([0.0, 0.0, 4.0])
    (g,) = tg.grad(x.prod(), x, create_graph=True)
    (h,) = tg.grad(g[1], x)
    np.testing.assert_array_equal(h.numpy(), [4.0, 0.0, 0.0])
    x = t64([0.0, 0.0])
    (g,) = tg.grad(x.cumprod(0).sum(), x, create_graph=True)  # g = [1 + x1, x0]
    (h,) = tg.grad(g[1], x)
    np.testing.assert_array_equal(h.numpy(), [1.0, 0.0])


def test_norm_has_gradient_zero_at_zero_and_std_at_zero_variance():
    for fn in (lambda x: x.norm(), lambda x: x.norm(3), lambda x: x.norm(np.inf),
               lambda x: x.norm(1), lambda x: x.std()):
        _, g = grad_of(fn, [0.0, 0.0, 0.0] if fn.__code__.co_names[-1] != "std" else [1.0] * 3)
        np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    _, g = grad_of(lambda x: x.std(), [1.0, 1.0, 1.0])  # PyTorch gives 0, not NaN
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])


def test_norm_values():
    x = t64([[3.0, -4.0], [1.0, 0.0]])
    assert x.norm().item() == pytest.approx(math.sqrt(26))
    np.testing.assert_allclose(x.norm(2, dim=1).numpy(), [5.0, 1.0])
    np.testing.assert_allclose(x.norm(1, dim=0).numpy(), [4.0, 4.0])
    np.testing.assert_allclose(x.norm(np.inf, dim=1).numpy(), [4.0, 1.0])
    np.testing.assert_allclose(x.norm(-np.inf, dim=1).numpy(), [3.0, 0.0])
    np.testing.assert_allclose(x.norm(0, dim=1).numpy(), [2.0, 1.0])
    # a negative p is PyTorch's (Σ |x|^p)^(1/p); a zero makes the norm 0 and its slice's
    # gradient 0 (values from PyTorch 2.13)
    y = t64([[3.0, -4.0], [1.0, 0.0]])
    n = y.norm(-1, dim=1)
    np.testing.assert_allclose(n.numpy(), [12 / 7, 0.0])
    n.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [[16 / 49, -9 / 49], [0.0, 0.0]])
    y.grad = None
    y.norm(-1).backward()
    np.testing.assert_array_equal(y.grad.numpy(), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="p must be"):
        x.norm(float("nan"))



def test_normalize_pins():
    # PyTorch 2.13: F.normalize divides by max(‖x‖_p, eps) over dim 1 by default; a zero row
    # stays zero, and its gradient is 1/eps (the clamp passes none to the norm)
    x = tg.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=tg.float64, requires_grad=True)
    y = F.normalize(x)
    np.testing.assert_allclose(y.numpy(), [[0.6, 0.8], [0.0, 0.0]])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.032, -0.024], [1e12, 1e12]])
    np.testing.assert_allclose(F.normalize(tg.tensor([3.0, 4.0]), dim=0).numpy(), [0.6, 0.8])
    np.testing.assert_allclose(F.normalize(tg.tensor([[3.0, 4.0]]), axis=0).numpy(), [[1, 1]])


def test_running_extremes_pin_pytorchs_ties_and_nan():
    # PyTorch 2.13: a tie takes over (the later position), a nan stays the extreme from where
    # it appears, at the latest nan; each value's gradient goes to its position
    x = tg.tensor([1.0, 3.0, 3.0, 2.0, np.nan, 5.0, np.nan, 1.0])
    values, indices = tg.cummax(x, 0)
    np.testing.assert_array_equal(values.numpy(), [1, 3, 3, 3, np.nan, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(indices.numpy(), [0, 1, 2, 2, 4, 4, 6, 6])
    np.testing.assert_array_equal(tg.cummin(x, 0).indices.numpy(), [0, 0, 0, 0, 4, 4, 6, 6])
    np.testing.assert_array_equal(tg.cummax(tg.tensor([2, 2, 1, 2]), 0).indices.numpy(),
                                  [0, 1, 1, 3])
    y = tg.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    tg.cummax(y, 0).values.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [1.0, 1.0, 2.0, 0.0])
    v, i = tg.cummax(tg.tensor(2.5), 0)
    assert v.shape == i.shape == () and i.item() == 0
    assert tg.cummin(tg.zeros(2, 0, 4), 1).values.shape == (2, 0, 4)


def test_logcumsumexp_pins():
    # PyTorch 2.13: logcumsumexp([0, 100]) = [0, 100] (no overflow), of a 0-d tensor itself
    np.testing.assert_array_equal(tg.logcumsumexp(tg.tensor([0.0, 100.0]), 0).numpy(),
                                  [0.0, 100.0])
    assert tg.logcumsumexp(tg.tensor(2.0), 0).item() == 2.0
    with pytest.raises(TypeError, match="give dim"):
        tg.logcumsumexp(tg.ones(3))


def test_scans_of_0d_tensors_check_the_dim_as_pytorch():
    assert tg.cumsum(tg.tensor(2.0), 0).item() == 2.0
    assert tg.tensor(2.0).cumprod(-1).item() == 2.0
    for f in (tg.cumsum, tg.cumprod, tg.cummax, tg.cummin, tg.logcumsumexp):
        with pytest.raises(IndexError, match="dim 1 is out of range"):
            f(tg.tensor(2.0), 1)


def test_accumulation_dtypes_are_pytorchs():
    # PyTorch 2.13: sums and products of integers and bools are int64; dtype= converts first;
    # mean refuses integers
    assert tg.tensor([1, 2], dtype=tg.uint8).sum().dtype == np.int64
    assert tg.tensor([True, True]).sum().item() == 2
    assert tg.tensor([1, 2], dtype=tg.int32).cumsum(0).dtype == np.int64
    assert tg.tensor([1, 2], dtype=tg.int8).prod().dtype == np.int64
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    s = x.sum(dtype=tg.float64)
    assert s.dtype == np.float64
    s.backward()
    assert x.grad.dtype == np.float32
    assert tg.tensor([1, 2]).mean(dtype=tg.float32).item() == 1.5
    with pytest.raises(RuntimeError, match=r"mean: needs a floating-point .*x.float\(\)"):
        tg.tensor([1, 2]).mean()


@st.composite
def _several_tensors(draw):
    n = draw(st.integers(1, 3))
    # (away from 0: the norm has a kink where every element is 0)
    return tuple(draw(S.tensors(S.shapes(max_dims=2, max_side=3), avoid=(0.0,)))
                 for _ in range(n))


def test_total_norm_is_the_norm_of_the_norms():
    from tinygrad_reg.ops.reduce import TotalNorm

    tg.testing.check_op(TotalNorm, _several_tensors(),
                        ref=lambda *xs: np.asarray(np.sqrt(sum(np.sum(x * x) for x in xs))),
                        out_shape=None, name="total_norm")
    # zero inputs: norm 0 and gradient 0 (Norm's convention)
    xs = [tg.zeros(2, dtype=np.float64, requires_grad=True), tg.zeros(3, dtype=np.float64,
                                                                     requires_grad=True)]
    TotalNorm.apply(*xs).backward()
    assert all(np.all(x.grad.numpy() == 0.0) for x in xs)
