"""Random draws with PyTorch's names and signatures: multinomial (with and without
replacement), bernoulli and bernoulli_, rand_like and randn_like, and the constructors
``new_zeros``/``new_ones``/``new_empty``/``new_full``/``new_tensor``: statistics of the draws,
dtypes and shapes as PyTorch 2.13 gives them, PyTorch's refusals, reproducibility with a
generator, and fresh draws on every tg.jit replay."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_reg as tg


def rng(seed=0):
    return np.random.default_rng(seed)


# -- multinomial --------------------------------------------------------------------------

def test_multinomial_with_replacement_draws_each_category_in_proportion_to_its_weight():
    w = tg.tensor([[1.0, 0.0, 3.0, 4.0], [5.0, 5.0, 0.0, 0.0]])  # weights need not sum to 1
    n = 40_000
    out = tg.multinomial(w, n, replacement=True, generator=rng(1))
    assert out.dtype == np.int64 and out.shape == (2, n)
    for row, weights in zip(out.numpy(), w.numpy()):
        freq = np.bincount(row, minlength=4) / n
        expected = weights / weights.sum()
        assert freq[expected == 0].sum() == 0  # a weight of zero is never drawn
        # binomial standard error at n = 40 000 is at most 0.0025; 4 of them apart is a bug
        np.testing.assert_allclose(freq, expected, atol=0.01)


def test_multinomial_without_replacement_draws_each_category_at_most_once():
    w = tg.tensor([[1.0, 2.0, 3.0, 4.0, 0.5]] * 300)
    out = tg.multinomial(w, 5, generator=rng(2)).numpy()
    assert out.shape == (300, 5)
    assert all(sorted(row) == [0, 1, 2, 3, 4] for row in out)  # a permutation per row
    # the first draw follows the weights; the second the weights of what is left
    first = np.bincount(out[:, 0], minlength=5) / 300
    np.testing.assert_allclose(first, w.numpy()[0] / w.numpy()[0].sum(), atol=0.08)
    many = tg.multinomial(tg.tensor([1.0, 3.0]), 1, generator=rng(3))
    assert many.shape == (1,)
    rows = tg.multinomial(tg.tensor([[1.0, 3.0]] * 20_000), 1, generator=rng(4)).numpy()
    assert abs(rows.mean() - 0.75) < 0.02


def test_multinomial_without_replacement_takes_zero_weights_last():
    # PyTorch 2.13: torch.multinomial(torch.tensor([0., 0., 1.]), 2) -> [2, 0] or [2, 1]
    out = tg.multinomial(tg.tensor([[0.0, 0.0, 1.0]] * 50), 2, generator=rng(5)).numpy()
    assert (out[:, 0] == 2).all() and set(out[:, 1]) <= {0, 1}


def test_multinomial_is_reproducible_with_a_generator_and_keeps_the_default_stream():
    w = tg.tensor([0.2, 0.3, 0.5])
    a = tg.multinomial(w, 10, True, generator=rng(7)).numpy()
    b = tg.multinomial(w, 10, True, generator=rng(7)).numpy()
    np.testing.assert_array_equal(a, b)
    tg.manual_seed(3)
    c = w.multinomial(10, True).numpy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(c, tg.multinomial(w, 10, replacement=True).numpy())


@pytest.mark.parametrize("probs, n, kwargs, error, words", [
    # PyTorch 2.13's messages, with the values added
    ([[[1.0]]], 1, {}, RuntimeError, "prob_dist must be 1 or 2 dim"),
    (1.0, 1, {}, RuntimeError, "prob_dist must be 1 or 2 dim"),
    ([0.0, -1.0], 1, {}, RuntimeError, "contains either `inf`, `nan` or element < 0"),
    ([0.0, np.nan], 1, {}, RuntimeError, "contains either `inf`, `nan` or element < 0"),
    ([0.0, np.inf], 1, {}, RuntimeError, "contains either `inf`, `nan` or element < 0"),
    ([[1.0, 1.0], [0.0, 0.0]], 1, {}, RuntimeError, "sum of probabilities <= 0"),
    ([0.0, 1.0], 3, {}, RuntimeError, r"n_sample > prob_dist.size\(-1\) samples without "
                                      r"replacement \(3 > 2\)"),
    ([0.0, 1.0], 0, {}, RuntimeError, "cannot sample n_sample <= 0 samples"),
    ([0.0, 1.0], 1, {"generator": 3}, TypeError, "generator must be a numpy.random.Generator"),
])
def test_multinomial_refusals(probs, n, kwargs, error, words):
    with pytest.raises(error, match=words):
        tg.multinomial(tg.tensor(probs), n, **kwargs)


def test_multinomial_refuses_integer_weights_as_pytorch():
    with pytest.raises(TypeError, match="only supports floating-point dtypes"):
        tg.multinomial(tg.tensor([1, 2]), 1)


def test_multinomial_with_replacement_may_draw_more_than_the_categories():
    out = tg.multinomial(tg.tensor([0.0, 1.0]), 5, replacement=True, generator=rng())
    np.testing.assert_array_equal(out.numpy(), [1, 1, 1, 1, 1])


# -- bernoulli ------------------------------------------------------------------------------

def test_bernoulli_draws_ones_with_the_given_probabilities():
    p = tg.tensor(np.linspace(0.0, 1.0, 5, dtype=np.float64)).reshape(5, 1).expand(5, 20_000)
    out = tg.bernoulli(p, generator=rng(1))
    assert out.dtype == np.float64 and out.shape == (5, 20_000)
    assert set(np.unique(out.numpy())) <= {0.0, 1.0}
    means = out.numpy().mean(axis=1)
    assert means[0] == 0.0 and means[-1] == 1.0  # p = 0 and p = 1 are exact
    np.testing.assert_allclose(means, [0, 0.25, 0.5, 0.75, 1], atol=0.015)


def test_bernoulli_with_a_number_uses_only_the_inputs_shape_and_dtype():
    # PyTorch 2.13: torch.bernoulli(torch.tensor([0.3, 0.6]), 0.5) is 0/1 with p = 0.5
    x = tg.zeros(40_000, dtype=tg.float32)
    out = tg.bernoulli(x, 0.5, generator=rng(2))
    assert out.dtype == np.float32 and abs(out.numpy().mean() - 0.5) < 0.01


def test_bernoulli_is_a_constant_and_a_method():
    p = tg.tensor([0.3, 0.9], requires_grad=True)
    out = p.bernoulli(generator=rng())
    assert out.grad_fn is None and not out.requires_grad


@pytest.mark.parametrize("call, error, words", [
    (lambda: tg.bernoulli(tg.tensor([1.5])), RuntimeError, r"expects p to be in \[0, 1\]"),
    (lambda: tg.bernoulli(tg.tensor([0.5]), 1.5), RuntimeError,
     r"expects p to be in \[0, 1\], but got p=1.5"),
    (lambda: tg.bernoulli(tg.tensor([1, 0])), NotImplementedError, "not implemented for dtype "
                                                                    "int64"),
    (lambda: tg.zeros(2).bernoulli_(-0.1), RuntimeError, r"bernoulli_: expects p to be in"),
    (lambda: tg.zeros(1).bernoulli_(tg.tensor([0.2, 0.3])), ValueError,
     r"p of shape \(2,\) does not broadcast to the tensor's shape \(1,\)"),
])
def test_bernoulli_refusals(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_bernoulli_in_place_with_a_number_and_with_a_tensor_of_probabilities():
    t = tg.zeros(20_000, dtype=tg.float64)
    assert t.bernoulli_(0.25, generator=rng(3)) is t
    assert abs(t.numpy().mean() - 0.25) < 0.015
    # PyTorch 2.13: torch.tensor([.5, .5]).bernoulli_(torch.tensor([0., 1.])) -> [0., 1.]
    t = tg.tensor([0.5, 0.5]).bernoulli_(tg.tensor([0.0, 1.0]))
    np.testing.assert_array_equal(t.numpy(), [0.0, 1.0])
    ints = tg.tensor([5, 5, 5]).bernoulli_(1.0)  # an int tensor takes 0/1 (as PyTorch)
    assert ints.dtype == np.int64 and ints.tolist() == [1, 1, 1]
    w = tg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="bernoulli_: a leaf tensor that requires grad"):
        w.bernoulli_()


# -- rand_like, randn_like ---------------------------------------------------------------

def test_rand_like_and_randn_like_take_the_inputs_shape_and_dtype():
    x = tg.zeros(200, 100, dtype=tg.float64)
    u, z = tg.rand_like(x, generator=rng(1)), tg.randn_like(x, generator=rng(2))
    assert u.shape == z.shape == (200, 100) and u.dtype == z.dtype == np.float64
    assert 0.0 <= u.numpy().min() and u.numpy().max() < 1.0
    assert abs(u.numpy().mean() - 0.5) < 0.01 and abs(z.numpy().std() - 1.0) < 0.02
    np.testing.assert_array_equal(tg.randn_like(x, generator=rng(2)).numpy(), z.numpy())
    assert tg.rand_like(tg.tensor([1, 2]), dtype=tg.float32).dtype == np.float32
    r = tg.randn_like(x, requires_grad=True)
    assert r.requires_grad and r.is_leaf


@pytest.mark.parametrize("fn", [tg.rand_like, tg.randn_like])
def test_rand_like_refuses_an_integer_input_as_pytorch(fn):
    # PyTorch 2.13: NotImplementedError('"normal_kernel_cpu" not implemented for 'Long'')
    with pytest.raises(NotImplementedError, match="pass dtype=tg.float32"):
        fn(tg.tensor([1, 2]))


# -- new_* ------------------------------------------------------------------------------------

def test_new_constructors_take_the_tensors_dtype_as_pytorch():
    f, i = tg.tensor([1.0], dtype=tg.float64), tg.tensor([1, 2])
    assert f.new_zeros(2, 3).shape == (2, 3) and f.new_zeros((2, 3)).dtype == np.float64
    assert f.new_ones(2).tolist() == [1.0, 1.0] and f.new_ones(2).dtype == np.float64
    assert f.new_empty(4).shape == (4,) and i.new_empty(1).dtype == np.int64
    assert f.new_full((2,), 7).tolist() == [7.0, 7.0] and f.new_full((2,), 7).dtype == np.float64
    # PyTorch 2.13: torch.tensor([1, 2]).new_tensor([1.5]) -> tensor([1]) (int64)
    assert i.new_tensor([1.5]).dtype == np.int64 and i.new_tensor([1.5]).tolist() == [1]
    assert f.new_zeros(2, dtype=tg.int32).dtype == np.int32
    src = np.array([1.0, 2.0])
    made = f.new_tensor(src, requires_grad=True)
    made.data[0] = 9.0
    assert src[0] == 1.0 and made.requires_grad  # a copy
    with pytest.raises(TypeError, match="only floating-point tensors can require grad"):
        i.new_zeros(2, requires_grad=True)


# -- under tg.jit: every replay draws afresh -------------------------------------------------

def test_draws_inside_a_jitted_function_are_drawn_again_on_every_replay():
    def sample(logits):
        probs = logits.softmax(-1)
        return (tg.multinomial(probs, 3, replacement=True) + tg.bernoulli(probs)[:, :1].long()
                + (tg.rand_like(probs) * 0).long()[:, :1])

    logits = tg.tensor(np.zeros((4, 50)))
    step = tg.jit(sample)
    eager, replayed = [], []
    for seed in range(6):
        tg.manual_seed(seed)
        eager.append(sample(logits).numpy())
        tg.manual_seed(seed)
        replayed.append(step(logits).numpy())
    assert step.replays >= 3
    for a, b in zip(eager, replayed):
        np.testing.assert_array_equal(a, b)
    assert len({r.tobytes() for r in replayed}) == 6  # not one draw replayed six times
