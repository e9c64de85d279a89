"""End to end: the tutorial's network [200, 100, 20, 1] (ReLU, ReLU, sigmoid output through
BCE-with-logits) built from Sequential/Linear/Dropout, trained with minibatch SGD and the
tutorial's L2 penalty λ/(2m)·ΣW²; one step checked against the tutorial's hand-written maths."""

from __future__ import annotations

import numpy as np

import tinygrad_reg as tg
from tinygrad_reg import nn, optim
from tinygrad_reg.data import batches
from tinygrad_reg.nn.functional import binary_cross_entropy_with_logits
from tinygrad_reg.regularization import l2_penalty

LAYERS = [200, 100, 20, 1]


def seed_network(keep_prob=0.8, generator=None, dtype=np.float32, init="he"):
    """The tutorial's architecture; dropout on both hidden layers, never on the output."""
    return nn.Sequential(
        nn.Linear(200, 100, init=init, generator=generator, dtype=dtype), nn.ReLU(),
        nn.Dropout(keep_prob=keep_prob, generator=generator),
        nn.Linear(100, 20, init=init, generator=generator, dtype=dtype), nn.ReLU(),
        nn.Dropout(keep_prob=keep_prob, generator=generator),
        nn.Linear(20, 1, init=init, generator=generator, dtype=dtype),
    )


def synthetic_data(n, rng):
    """200 features of which 10 are informative (as in make_classification), labels from a
    noisy linear teacher on those 10."""
    X = rng.normal(size=(n, 200)).astype(np.float32)
    teacher = rng.normal(size=10)
    score = X[:, :10] @ teacher / np.sqrt(10) + 0.2 * rng.normal(size=n)
    return X, (score > 0).astype(np.float32).reshape(n, 1)


def test_seed_network_trains_and_evaluates_deterministically():
    rng = np.random.default_rng(0)
    X, y = synthetic_data(600, rng)
    Xtr, ytr, Xte = X[:400], y[:400], X[400:]
    model = seed_network(generator=np.random.default_rng(1))
    assert [n for n, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"]
    assert [p.shape for p in model.parameters()] == [(100, 200), (100,), (20, 100), (20,),
                                                     (1, 20), (1,)]
    opt = optim.SGD(model, lr=0.2)
    lam, m = 0.1, 50  # the tutorial's λ/(2m)·ΣW² with m the batch size
    losses, bces = [], []
    shuffle = np.random.default_rng(2)
    for _ in range(6):
        total = total_bce = 0.0
        for Xb, yb in batches(Xtr, ytr, m, generator=shuffle):
            opt.zero_grad()
            bce = binary_cross_entropy_with_logits(model(tg.Tensor(Xb)), yb)
            loss = bce + l2_penalty(model, lam / m)
            loss.backward()
            opt.step()
            total += loss.item() * len(Xb)
            total_bce += bce.item() * len(Xb)
        losses.append(total / len(Xtr))
        bces.append(total_bce / len(Xtr))
    assert all(np.isfinite(losses))
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False)), losses
    assert bces[-1] < 0.6 * bces[0], bces  # the data term itself falls, not just the penalty
    assert all(p.dtype == np.float32 for p in model.parameters())

    model.eval()
    with tg.no_grad():
        p1 = model(tg.Tensor(Xte)).numpy()
        p2 = model(tg.Tensor(Xte)).numpy()
    np.testing.assert_array_equal(p1, p2)  # eval: no unit dropped, predictions repeat
    # 400 examples in 200 dimensions: the point is that it learns, not that it generalises
    train_accuracy = ((model(tg.Tensor(Xtr)).numpy() > 0) == (ytr > 0.5)).mean()
    assert train_accuracy > 0.9, train_accuracy

    model.train()  # and back: dropout draws fresh masks again
    q1, q2 = model(tg.Tensor(Xte)).numpy(), model(tg.Tensor(Xte)).numpy()
    assert not np.array_equal(q1, q2)


def test_one_step_equals_the_tutorials_hand_written_maths():
    """Forward, BCE, L2 gradient dW = dZᵀA/m + (λ/m)·W, and the SGD update, by hand
    (row convention), float64, no dropout: the framework must agree to 1e-12."""
    rng = np.random.default_rng(3)
    X, y = synthetic_data(32, rng)
    X, y = X.astype(np.float64), y.astype(np.float64)
    model = seed_network(keep_prob=1.0, generator=np.random.default_rng(4), dtype=np.float64,
                         init="scaled_normal")
    W = [model[i].weight.numpy().copy() for i in (0, 3, 6)]
    b = [model[i].bias.numpy().copy() for i in (0, 3, 6)]
    lam, lr, m = 0.7, 0.5, len(X)

    # the tutorial, by hand
    Z1 = X @ W[0].T + b[0]
    A1 = np.maximum(Z1, 0)
    Z2 = A1 @ W[1].T + b[1]
    A2 = np.maximum(Z2, 0)
    Z3 = A2 @ W[2].T + b[2]
    A3 = 1 / (1 + np.exp(-Z3))
    cost = (-(y * np.log(A3) + (1 - y) * np.log(1 - A3)).mean()
            + lam / (2 * m) * sum((w * w).sum() for w in W))
    dZ3 = (A3 - y) / m
    dW3 = dZ3.T @ A2 + lam / m * W[2]
    db3 = dZ3.sum(axis=0)
    dZ2 = (dZ3 @ W[2]) * (Z2 > 0)
    dW2 = dZ2.T @ A1 + lam / m * W[1]
    db2 = dZ2.sum(axis=0)
    dZ1 = (dZ2 @ W[1]) * (Z1 > 0)
    dW1 = dZ1.T @ X + lam / m * W[0]
    db1 = dZ1.sum(axis=0)

    opt = optim.SGD(model, lr=lr)
    loss = (binary_cross_entropy_with_logits(model(tg.Tensor(X)), y)
            + l2_penalty(model, lam / m))
    np.testing.assert_allclose(loss.item(), cost, rtol=1e-12)
    loss.backward()
    for i, (dw, db) in zip((0, 3, 6), ((dW1, db1), (dW2, db2), (dW3, db3)), strict=True):
        np.testing.assert_allclose(model[i].weight.grad.numpy(), dw, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(model[i].bias.grad.numpy(), db, rtol=1e-10, atol=1e-14)
    opt.step()
    for i, w, dw in zip((0, 3, 6), W, (dW1, dW2, dW3), strict=True):
        np.testing.assert_allclose(model[i].weight.numpy(), w - lr * dw, rtol=0, atol=1e-12)
