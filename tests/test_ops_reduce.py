"""Property tests for the reductions: one case per op, each run through the public
``tg.testing.check_op`` against a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_reg as tg
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


CASES = [
    case("sum", lambda x, axis, keepdims: x.sum(axis, keepdims),
         lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims), reduction()),
    case("mean", lambda x, axis, keepdims: x.mean(axis, keepdims),
         lambda x, axis, keepdims: np.mean(x, axis=axis, keepdims=keepdims), reduction()),
    case("max", lambda x, axis, keepdims: x.max(axis=axis, keepdims=keepdims),
         lambda x, axis, keepdims: np.max(x, axis=axis, keepdims=keepdims),
         reduction(_distinct)),
    case("min", lambda x, axis, keepdims: x.min(axis=axis, keepdims=keepdims),
         lambda x, axis, keepdims: np.min(x, axis=axis, keepdims=keepdims),
         reduction(_distinct)),
    case("var", lambda x, axis, keepdims, ddof: x.var(axis=axis, keepdims=keepdims, ddof=ddof),
         lambda x, axis, keepdims, ddof: np.var(x, axis=axis, keepdims=keepdims, ddof=ddof),
         var_inputs()),
    case("logsumexp", lambda x, axis, keepdims: tg.logsumexp(x, axis, keepdims),
         _ref_logsumexp, reduction()),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, **options)
