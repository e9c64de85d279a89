"""More elementwise arithmetic (lerp, ...): values and first and second derivatives through
``tg.testing.check_op`` against numpy, and PyTorch's values pinned where its formula
matters."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg.testing import strategies as S


def case(name, op, ref, *inputs, **options):
    return pytest.param(name, op, ref, inputs, options, id=name)


def _lerp(a, b, w):
    return a + w * (b - a)


CASES = [
    case("lerp", tg.lerp, _lerp, S.broadcastable_tensors(3)),
    case("lerp_number", lambda a, b, w: a.lerp(b, w), _lerp, S.broadcastable_tensors(2),
         st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0, -1.5])),
]


@pytest.mark.parametrize("name, op, ref, inputs, options", CASES)
def test_op(name, op, ref, inputs, options):
    tg.testing.check_op(op, *inputs, ref=ref, name=name, ref_rtol=1e-9, **options)


def test_lerp_is_exact_at_both_ends():
    # PyTorch's two-branch formula: weight 1 gives end exactly, where a + w·(b - a) rounds
    a, b = tg.tensor([1e8, 0.1]), tg.tensor([1.0, 0.7])
    np.testing.assert_array_equal(a.lerp(b, 1.0).numpy(), b.numpy())
    np.testing.assert_array_equal(a.lerp(b, 0.0).numpy(), a.numpy())
    assert a.lerp(b, 0.5).dtype == np.float32
