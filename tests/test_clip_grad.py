"""nn.utils.clip_grad_norm_, clip_grad_value_, get_total_norm and clip_grads_with_norm_:
values pinned from PyTorch 2.13 (the total norm before clipping, the clipped gradients, to the
last bit), bad inputs refused with messages, and a clipping step that tg.jit replays bitwise."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F
from tinygrad_reg.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    clip_grads_with_norm_,
    get_total_norm,
)

G1 = [[0.5, -1.25, 2.0], [3.0, -0.75, 0.125]]
G2 = [-4.0, 1.5]

# torch.nn.utils.clip_grad_norm_([p1, p2], 1.0, norm_type) with p1.grad = G1, p2.grad = G2,
# in PyTorch 2.13: (returned total norm, p1.grad after, p2.grad after), float64 then float32.
PINNED = {
    (2.0, np.float64): (5.80005387906009, [[0.08620608087781162, -0.21551520219452905, 0.3448243235112465], [0.5172364852668697, -0.12930912131671743, 0.021551520219452905]], [-0.689648647022493, 0.25861824263343486]),  # noqa: E501
    (2.0, np.float32): (5.80005407333374, [[0.08620607852935791, -0.21551519632339478, 0.34482431411743164], [0.5172364711761475, -0.12930911779403687, 0.021551519632339478]], [-0.6896486282348633, 0.25861823558807373]),  # noqa: E501
    (1.0, np.float64): (13.125, [[0.038095235192743986, -0.09523808798185997, 0.15238094077097594], [0.2285714111564639, -0.057142852789115975, 0.009523808798185996]], [-0.3047618815419519, 0.11428570557823195]),  # noqa: E501
    (1.0, np.float32): (13.125, [[0.03809523582458496, -0.0952380895614624, 0.15238094329833984], [0.22857141494750977, -0.05714285373687744, 0.00952380895614624]], [-0.3047618865966797, 0.11428570747375488]),  # noqa: E501
    (3.0, np.float64): (4.715850410773472, [[0.10602539317878812, -0.2650634829469703, 0.4241015727151525], [0.6361523590727287, -0.15903808976818218, 0.02650634829469703]], [-0.848203145430305, 0.31807617953636436]),  # noqa: E501
    (3.0, np.float32): (4.715850830078125, [[0.10602538287639618, -0.26506346464157104, 0.4241015315055847], [0.6361522674560547, -0.15903806686401367, 0.026506345719099045]], [-0.8482030630111694, 0.31807613372802734]),  # noqa: E501
    ("inf", np.float64): (4.0, [[0.12499996875000781, -0.3124999218750195, 0.49999987500003124], [0.7499998125000469, -0.18749995312501172, 0.031249992187501952]], [-0.9999997500000625, 0.37499990625002344]),  # noqa: E501
    ("inf", np.float32): (4.0, [[0.12499997019767761, -0.3124999403953552, 0.49999988079071045], [0.7499998211860657, -0.18749995529651642, 0.031249992549419403]], [-0.9999997615814209, 0.37499991059303284]),  # noqa: E501
    (0.5, np.float64): (88.65594894150418, [[0.0056397793981103755, -0.014099448495275939, 0.022559117592441502], [0.03383867638866225, -0.008459669097165563, 0.0014099448495275939]], [-0.045118235184883004, 0.016919338194331127]),  # noqa: E501
    (0.5, np.float32): (88.65594482421875, [[0.005639779847115278, -0.01409944985061884, 0.022559119388461113], [0.033838678151369095, -0.008459669537842274, 0.0014099449617788196]], [-0.045118238776922226, 0.016919339075684547]),  # noqa: E501
}


def params_with_grads(dtype, grads=(G1, G2)):
    ps = []
    for g in grads:
        p = nn.Parameter(tg.zeros(np.shape(g), dtype=dtype))
        p.grad = tg.tensor(np.asarray(g, dtype=dtype))
        ps.append(p)
    return ps


@pytest.mark.parametrize("norm_type,dtype", list(PINNED))
def test_clip_grad_norm_matches_pytorch_to_the_bit(norm_type, dtype):
    total, g1, g2 = PINNED[norm_type, dtype]
    ps = params_with_grads(dtype)
    n = clip_grad_norm_(ps, 1.0, norm_type)
    assert n.shape == () and n.dtype == dtype and n.item() == total
    np.testing.assert_array_equal(ps[0].grad.numpy(), np.asarray(g1, dtype=dtype))
    np.testing.assert_array_equal(ps[1].grad.numpy(), np.asarray(g2, dtype=dtype))


@pytest.mark.parametrize("norm_type,dtype", list(PINNED))
def test_below_max_norm_the_gradients_are_unchanged(norm_type, dtype):
    total = PINNED[norm_type, dtype][0]
    ps = params_with_grads(dtype)
    assert clip_grad_norm_(ps, 100.0, norm_type).item() == total
    np.testing.assert_array_equal(ps[0].grad.numpy(), np.asarray(G1, dtype=dtype))
    np.testing.assert_array_equal(ps[1].grad.numpy(), np.asarray(G2, dtype=dtype))


def test_the_two_halves_and_the_pieces_of_the_norm():
    # PyTorch 2.13: get_total_norm([[3, 4], [12]]) = 13; clip_grads_with_norm_ with a given
    # norm 10 and max 1 scales [3, 4] to [0.3, 0.4] (factor 1 / (10 + 1e-6))
    assert get_total_norm([tg.tensor([3.0, 4.0]), tg.tensor([12.0])]).item() == 13.0
    (p,) = params_with_grads(np.float64, ([3.0, 4.0],))
    clip_grads_with_norm_([p], 1.0, tg.tensor(10.0, dtype=np.float64))
    np.testing.assert_array_equal(p.grad.numpy(), np.array([3.0, 4.0]) / (10.0 + 1e-6))
    # a single tensor is accepted; a parameter without a gradient is skipped
    q = nn.Parameter(tg.zeros(2))
    (r,) = params_with_grads(np.float32, ([30.0, 40.0],))
    assert clip_grad_norm_([q, r], 5.0).item() == 50.0 and q.grad is None
    assert clip_grad_norm_(r, 100.0).item() == np.float32(5.0 * 50 / (50 + 1e-6))
    # no gradients at all: the total is 0.0 and nothing is written (PyTorch: tensor(0.))
    assert clip_grad_norm_([q], 1.0).item() == 0.0 and clip_grad_norm_([], 1.0).item() == 0.0


def test_norm_orders_zero_and_minus_inf_are_vector_norms():
    # PyTorch 2.13 on the gradient [0, 3, -4, 0] (float64), max_norm 1: order 0 counts the
    # nonzero elements over all tensors (2 -> total 1.0 here, since the per-tensor counts are
    # themselves counted), so the factor is 1 / (1 + 1e-6); -inf is the smallest absolute
    # value (0.0), factor 1
    g = np.array([0.0, 3.0, -4.0, 0.0])
    for order, total in [(0, 1.0), (0.0, 1.0), (-math.inf, 0.0)]:
        (p,) = params_with_grads(np.float64, (g,))
        assert clip_grad_norm_([p], 1.0, order).item() == total
        np.testing.assert_array_equal(p.grad.numpy(), g * min(1.0, 1.0 / (total + 1e-6)))


def test_mixed_dtypes_take_the_promoted_norm():
    # PyTorch 2.13: float32 grad [3, 4] with float64 grad [12], max 1 -> total 13 (float64),
    # each gradient keeps its dtype
    (a,) = params_with_grads(np.float32, ([3.0, 4.0],))
    (b,) = params_with_grads(np.float64, ([12.0],))
    n = clip_grad_norm_([a, b], 1.0)
    assert n.dtype == np.float64 and n.item() == 13.0
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad.numpy(), [3 / 13, 4 / 13], rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), [12 / 13], rtol=1e-6)


def test_clip_grad_value_clamps_each_element():
    # PyTorch 2.13: clip_grad_value_ on [3, -40] with 2.5 -> [2.5, -2.5]
    (p,) = params_with_grads(np.float32, ([3.0, -40.0, 0.5],))
    assert clip_grad_value_(p, 2.5) is None
    np.testing.assert_array_equal(p.grad.numpy(), np.float32([2.5, -2.5, 0.5]))


def test_a_nonfinite_norm_is_an_error_only_when_asked():
    (p,) = params_with_grads(np.float32, ([math.nan, 1.0],))
    with pytest.raises(RuntimeError, match=r"The total norm of order 2\.0 for gradients from "
                                           r"`parameters` is non-finite, so it cannot be "
                                           r"clipped.*error_if_nonfinite=False"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(p.grad.numpy(), np.float32([math.nan, 1.0]))  # untouched
    # PyTorch 2.13 without the check: [inf, 1] has total inf and becomes [nan, 0]
    (q,) = params_with_grads(np.float32, ([math.inf, 1.0],))
    assert clip_grad_norm_([q], 1.0).item() == math.inf
    np.testing.assert_array_equal(q.grad.numpy(), np.float32([math.nan, 0.0]))


@pytest.mark.parametrize("call,words", [
    (lambda m: clip_grad_norm_(m, 1.0), "got the module Linear itself; pass model.parameters()"),
    (lambda m: clip_grad_value_(m, 1.0), "got the module Linear itself"),
    (lambda m: clip_grad_norm_(3.0, 1.0), "expected a Tensor or an iterable of Tensors, got "
                                          "float"),
    (lambda m: clip_grad_norm_([m.weight, "w"], 1.0), "element 1 is a str, not a Tensor"),
    (lambda m: clip_grad_norm_(m.parameters(), 1.0, "two"), "norm_type must be a number or "
                                                            "'inf', got 'two'"),
    (lambda m: get_total_norm([m.weight], math.nan), "got nan"),
])
def test_bad_inputs_are_refused_with_a_message(call, words):
    m = nn.Linear(2, 2)
    with pytest.raises((TypeError, ValueError)) as info:
        call(m)
    assert words in str(info.value)


def test_a_clipping_step_replays_bitwise_under_jit():
    def make(jitted):
        gen = np.random.default_rng(0)
        model = nn.Sequential(nn.Linear(5, 8, generator=gen), nn.Tanh(),
                              nn.Linear(8, 1, generator=gen))
        opt = tg.optim.SGD(model.parameters(), lr=0.5)

        def step(X, y):
            opt.zero_grad()
            loss = F.mse_loss(model(X), y)
            loss.backward()
            total = clip_grad_norm_(model.parameters(), 0.1)
            clip_grad_value_(model.parameters(), 0.05)
            opt.step()
            return loss, total

        return model, (tg.jit(step) if jitted else step)

    rng = np.random.default_rng(1)
    data = [(tg.tensor(rng.standard_normal((16, 5)).astype(np.float32)),
             tg.tensor(rng.standard_normal((16, 1)).astype(np.float32))) for _ in range(6)]
    m1, eager = make(False)
    m2, jitted = make(True)
    e = [[t.item() for t in eager(*d)] for d in data]
    j = [[t.item() for t in jitted(*d)] for d in data]
    assert e == j and jitted.replays == 4
    assert all(t > 0.1 for _, t in e)  # the norm was above max_norm: clipping did something
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes()
