"""The regularization lab: the noise ops (channel dropout, DropConnect, Gaussian and alpha
dropout, additive noise), activity penalties, which parameters a penalty covers, max-norm,
penalty_breakdown, and tinygrad_reg.lab (early stopping, MC dropout, sweeps, plots)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import strategies as st

import tinygrad_reg as tg
from tinygrad_reg import lab, nn
from tinygrad_reg import regularization as R
from tinygrad_reg.nn import functional as F
from tinygrad_reg.regularization.noise import ALPHA_PRIME, _alpha_affine
from tinygrad_reg.testing import strategies as S
from tinygrad_reg.viz import REGULARIZATION_OPS, to_dot


def rng(seed=7):
    return np.random.default_rng(seed)


def mask_like(shape, keep, seed=7):
    """The mask the ops draw from default_rng(seed): float32 uniforms < keep."""
    return rng(seed).random(shape, dtype=np.float32) < keep


def normal_like(shape, seed=7):
    return rng(seed).standard_normal(shape)


def t64(a, grad=True):
    return tg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# -- every noise op against its formula, first and second order ----------------------------

def nchw(min_dims=3, max_dims=4):
    return S.tensors(shape=st.integers(min_dims, max_dims).flatmap(
        lambda d: st.tuples(*[st.integers(1, 3)] * d)))


def _ch_shape(x):
    return x.shape[:2] + (1,) * (x.ndim - 2)


CASES = [
    ("dropout1d", lambda x: F.dropout1d(x, 0.4, generator=rng()),
     lambda x: x * mask_like(x.shape[:-1] + (1,), 0.6) / 0.6,
     S.tensors(shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)))),
    ("dropout2d", lambda x: F.dropout2d(x, 0.3, generator=rng()),
     lambda x: x * mask_like(_ch_shape(x), 0.7) / 0.7,
     S.tensors(shape=st.tuples(*[st.integers(1, 3)] * 4))),
    ("drop_connect", lambda w: R.drop_connect(w, 0.5, generator=rng()),
     lambda w: w * mask_like(w.shape, 0.5) / 0.5, S.tensors()),
    ("gaussian_dropout", lambda x: F.gaussian_dropout(x, 0.2, generator=rng()),
     lambda x: x * (1.0 + math.sqrt(0.2 / 0.8) * normal_like(x.shape)), S.tensors()),
    ("alpha_dropout", lambda x: F.alpha_dropout(x, 0.2, training=True, generator=rng()),
     lambda x: _alpha_affine(0.2)[0] * np.where(mask_like(x.shape, 0.8), x, ALPHA_PRIME)
     + _alpha_affine(0.2)[1], S.tensors()),
    ("gaussian_noise", lambda x: F.gaussian_noise(x, 0.3, generator=rng()),
     lambda x: x + 0.3 * normal_like(x.shape), S.tensors()),
    ("activity_l1", lambda x: R.activity_l1(x, 0.3),
     lambda x: np.asarray(0.3 * np.abs(x).sum() / x.shape[0]),
     S.tensors(shape=st.tuples(st.integers(1, 4), st.integers(1, 3)), avoid=(0.0,))),
    ("activity_l2", lambda x: R.activity_l2(x, 0.3),
     lambda x: np.asarray(0.3 * (x * x).sum() / (2 * x.shape[0])),
     S.tensors(shape=st.tuples(st.integers(1, 4), st.integers(1, 3)))),
]


@pytest.mark.parametrize("name, op, ref, inp", CASES, ids=[c[0] for c in CASES])
def test_noise_and_activity_ops(name, op, ref, inp):
    tg.testing.check_op(op, inp, ref=ref, name=name, out_shape=None)


def test_alpha_dropout_constants_equal_pytorchs():
    # PyTorch 2.13: the kept units map to a·x + b and the dropped ones to a·α' + b
    for p, a, b in [(0.2, 0.8789035834434834, 0.30903996214399565),
                    (0.5, 0.8864048946660082, 0.7791939305181843)]:
        got_a, got_b = _alpha_affine(p)
        assert got_a == pytest.approx(a, rel=1e-12) and got_b == pytest.approx(b, rel=1e-12)
    assert ALPHA_PRIME == pytest.approx(-1.7580993408473766, rel=1e-15)


# -- statistics: what each noise does on average -----------------------------------------

def test_channel_dropout_zeroes_whole_channels():
    x = tg.ones(50, 8, 3, 3)
    y = F.dropout2d(x, 0.5, generator=rng(1)).numpy()
    per_channel = y.reshape(50, 8, 9)
    assert set(np.unique(per_channel.std(axis=2))) == {0.0}  # constant over each map
    assert set(np.unique(y)) == {0.0, 2.0}
    assert 0.4 < (per_channel[:, :, 0] == 0).mean() < 0.6
    y1 = F.dropout1d(tg.ones(40, 6, 5), 0.5, generator=rng(2)).numpy()
    assert set(np.unique(y1.std(axis=2))) == {0.0}
    y2 = F.dropout1d(tg.ones(6, 5), keep_prob=0.5, generator=rng(2)).numpy()  # (C, L)
    assert set(np.unique(y2.std(axis=1))) == {0.0}


def test_dropout2d_reads_a_3d_input_as_pytorch_does():
    with pytest.warns(UserWarning, match=r"read as \(N, C, L\)"):
        y = F.dropout2d(tg.ones(4, 3, 10), 0.5, generator=rng(3)).numpy()
    assert set(np.unique(y.std(axis=2))) == {0.0}


def test_gaussian_dropout_has_dropouts_mean_and_variance():
    y = F.gaussian_dropout(tg.ones(400_000, dtype=tg.float64), 0.2, generator=rng(4)).numpy()
    assert abs(y.mean() - 1.0) < 3e-3 and abs(y.var() - 0.25) < 3e-3
    drop = F.dropout(tg.ones(400_000, dtype=tg.float64), 0.2, generator=rng(4)).numpy()
    assert abs(drop.var() - 0.25) < 3e-3  # the same variance p / (1 - p)


def test_alpha_dropout_keeps_a_standard_normal_standard():
    x = tg.tensor(rng(5).standard_normal(400_000))
    y = F.alpha_dropout(x, 0.3, training=True, generator=rng(6)).numpy()
    assert abs(y.mean()) < 6e-3 and abs(y.var() - 1.0) < 6e-3


def test_drop_connect_linear_is_right_on_average_and_loads_like_linear():
    tg.manual_seed(0)
    layer = nn.DropConnectLinear(5, 3, p=0.5, dtype=np.float64)
    x = tg.tensor(rng(8).standard_normal((2, 5)))
    samples = np.mean([layer(x).numpy() for _ in range(4000)], axis=0)
    layer.eval()
    exact = layer(x).numpy()
    assert layer(x).grad_fn.name == "Linear"  # eval: a plain linear layer, no DropConnect
    np.testing.assert_allclose(samples, exact, atol=0.08 * np.abs(exact).max())
    assert list(layer.state_dict()) == ["weight", "bias"]
    plain = nn.Linear(5, 3, dtype=np.float64)
    plain.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(plain(x).numpy(), exact)
    layer.train()
    names = {c.name for c in tg.autograd.iter_graph([layer(x).sum()])}
    assert "DropConnect" in names


# -- conventions, identities, bad input ---------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda x: F.dropout1d(x[0], 1.0), lambda x: F.dropout2d(x, keep_prob=0.0),
    lambda x: R.drop_connect(x, 1.0), lambda x: F.alpha_dropout(x, 1.0, training=True)])
def test_p_one_is_zeros_with_zero_gradient(make):
    x = t64(np.arange(1.0, 25.0).reshape(2, 3, 2, 2))
    y = make(x)
    assert np.array_equal(y.numpy(), np.zeros(y.shape))
    y.sum().backward()
    assert np.array_equal(x.grad.numpy(), np.zeros((2, 3, 2, 2)))


@pytest.mark.parametrize("make", [
    lambda x: F.dropout1d(x, 0.5, training=False), lambda x: F.dropout2d(x, 0.5, False),
    lambda x: R.drop_connect(x, 0.5, training=False),
    lambda x: F.gaussian_dropout(x, 0.5, training=False), lambda x: F.alpha_dropout(x, 0.5),
    lambda x: F.gaussian_noise(x, 1.0, training=False), lambda x: F.gaussian_noise(x, 0.0),
    lambda x: F.dropout2d(x, 0.0)])
@pytest.mark.filterwarnings("ignore:dropout2d. a 3-D input")
def test_eval_and_zero_noise_return_the_input_itself(make):
    x = t64(np.ones((2, 3, 4)))
    assert make(x) is x


@pytest.mark.parametrize("layer, shape", [
    (nn.Dropout1d(0.5), (4, 3, 5)), (nn.Dropout2d(keep_prob=0.5), (4, 3, 2, 2)),
    (nn.AlphaDropout(0.5), (4, 3)), (nn.GaussianDropout(0.5), (4, 3)),
    (nn.GaussianNoise(1.0), (4, 3))])
def test_noise_layers_sample_in_training_and_are_the_identity_in_eval(layer, shape):
    x = tg.ones(*shape)
    assert not np.array_equal(layer(x).numpy(), x.numpy())
    layer.eval()
    assert layer(x) is x


@pytest.mark.parametrize("call, error, words", [
    (lambda: F.dropout1d(tg.ones(2, 3), p=1.5), ValueError, r"dropout1d: p must be in \[0, 1\], got 1.5"),  # noqa: E501
    (lambda: nn.Dropout2d(keep_prob=-0.1), ValueError, r"Dropout2d: keep_prob must be in \[0, 1\], got -0.1"),  # noqa: E501
    (lambda: F.gaussian_dropout(tg.ones(2), 1.0), ValueError, "gaussian_dropout: p=1 .* infinite"),
    (lambda: nn.GaussianDropout(keep_prob=0.0), ValueError, "GaussianDropout: p=1"),
    (lambda: nn.GaussianNoise(-0.5), ValueError, "gaussian_noise: std must be a finite number >= 0, got -0.5"),  # noqa: E501
    (lambda: F.gaussian_noise(tg.ones(2), float("nan")), ValueError, "std must be"),
    (lambda: F.dropout1d(tg.ones(2, 3, 4, 5), 0.5), ValueError, r"dropout1d: expected .* got shape \(2, 3, 4, 5\)"),  # noqa: E501
    (lambda: F.dropout2d(tg.ones(2, 3), 0.5), ValueError, r"dropout2d: expected .* got shape \(2, 3\)"),  # noqa: E501
    (lambda: F.dropout2d(tg.ones(2, 3, 4, 4), 0.5, inplace=True), ValueError, "inplace=True"),
    (lambda: R.drop_connect(tg.tensor([1, 2]), 0.5), TypeError, "drop_connect: expected a floating-point"),  # noqa: E501
    (lambda: nn.DropConnectLinear(3, 2, p=2.0), ValueError, r"DropConnectLinear: p must be in \[0, 1\]"),  # noqa: E501
    (lambda: R.activity_l1(tg.ones(2, 2), -1.0), ValueError, "activity_l1: lam must be a finite number >= 0, got -1.0"),  # noqa: E501
    (lambda: R.activity_l2(tg.ones(()), 1.0), ValueError, "activity_l2: expected activations with a batch dim"),  # noqa: E501
    (lambda: R.max_norm_(tg.ones(2, 2), -1.0), ValueError, "max_norm_: max_norm must be a finite number >= 0, got -1.0"),  # noqa: E501
    (lambda: R.max_norm_(tg.ones(2, 2), 1.0, dim=2), ValueError, r"max_norm_: dim=2 is out of range for a weight of shape \(2, 2\)"),  # noqa: E501
    (lambda: R.max_norm_([], 1.0), ValueError, "params is empty"),
    (lambda: R.max_norm_(nn.Sequential(nn.ReLU()), 1.0), ValueError, "has no weights to constrain"),
    (lambda: R.l2_penalty(nn.BatchNorm1d(3), 0.1), ValueError, "l2_penalty: the module BatchNorm1d has no weights"),  # noqa: E501
])
def test_bad_arguments_name_the_function_and_the_value(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_noise_nodes_are_named_and_coloured_as_regularizers():
    x = tg.randn(2, 3, 4, 4, requires_grad=True)
    w = tg.randn(3, 3, requires_grad=True)
    y = (F.dropout2d(x, 0.2) + F.gaussian_noise(x, 0.1) + F.gaussian_dropout(x, 0.1)
         + F.alpha_dropout(x, 0.1, training=True)).sum() + R.activity_l1(x, 0.1) \
        + R.activity_l2(x, 0.1) + R.drop_connect(w, 0.3).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = y + F.dropout1d(x[0], 0.2).sum()
    names = {c.name for c in tg.autograd.iter_graph([y])}
    new = {"Dropout1d", "Dropout2d", "GaussianNoise", "GaussianDropout", "AlphaDropout",
           "ActivityL1", "ActivityL2", "DropConnect"}
    assert new <= names and new <= REGULARIZATION_OPS
    dot = to_dot(y)
    for n in new:
        assert n in dot


# -- which parameters a penalty covers -------------------------------------------------

def convnet():
    tg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8, 3), nn.LayerNorm((3,)), nn.Embedding(4, 3))


def test_a_module_penalty_skips_biases_and_normalization_parameters():
    model = convnet()
    chosen = R.penalized_parameters(model)
    assert [p.shape for p in chosen] == [(2, 1, 3, 3), (3, 8), (4, 3)]
    named = R.penalized_parameters(list(model.named_parameters()))
    assert [p.shape for p in named] == [(2, 1, 3, 3), (3, 8), (4, 3)]
    pen = R.l2_penalty(model, 1.0)
    assert len(pen.grad_fn.inputs) == 3
    pairs = R.l2_penalty(model.named_parameters(), 1.0)
    assert pairs.item() == pytest.approx(pen.item())
    everything = R.l2_penalty(list(model.parameters()), 1.0)  # the override: exactly those
    assert len(everything.grad_fn.inputs) == len(list(model.parameters()))


def test_a_two_dim_layer_norm_weight_is_skipped_by_module_type():
    model = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm((2, 3)))
    assert [p.shape for p in R.penalized_parameters(model)] == [(6, 4)]


# -- max-norm --------------------------------------------------------------------------

def test_max_norm_clips_long_rows_and_leaves_short_ones_bitwise():
    a = rng(9).standard_normal((6, 5)).astype(np.float32)
    a[::2] *= 10.0  # long rows
    w = tg.tensor(a, requires_grad=True)
    before = w.numpy().copy()
    R.max_norm_(w, 2.0)
    after = w.numpy()
    norms = np.linalg.norm(before, axis=1)
    for i in range(6):
        if norms[i] <= 2.0:
            assert after[i].tobytes() == before[i].tobytes()
        else:
            assert np.linalg.norm(after[i].astype(np.float64)) <= 2.0
            assert np.linalg.norm(after[i]) == pytest.approx(2.0, rel=1e-6)
            np.testing.assert_allclose(after[i] / np.linalg.norm(after[i]),
                                       before[i] / norms[i], rtol=1e-6)


def test_max_norm_at_the_bound():
    w = tg.tensor([[2.0, 0.0], [0.0, 2.0 * (1 + 1e-9)], [0.0, 1.9]], dtype=tg.float64)
    R.max_norm_(w, 2.0)
    got = w.numpy()
    assert got[0].tolist() == [2.0, 0.0] and got[2].tolist() == [0.0, 1.9]  # untouched
    assert got[1, 1] <= 2.0 and got[1, 1] == pytest.approx(2.0, rel=1e-15)


def test_max_norm_dim_selects_the_units():
    a = np.array([[3.0, 0.0], [4.0, 0.1]])
    w = tg.tensor(a.copy())
    R.max_norm_(w, 1.0, dim=1)  # columns are the units: column 0 has norm 5
    np.testing.assert_allclose(w.numpy()[:, 0], [0.6, 0.8])
    assert w.numpy()[1, 1] == 0.1
    conv = tg.tensor(rng(1).standard_normal((4, 2, 3, 3)) * 5)
    R.max_norm_(conv, 1.5)  # each filter as a whole
    assert np.all(np.linalg.norm(conv.numpy().reshape(4, -1), axis=1) <= 1.5 + 1e-12)


def test_max_norm_on_a_module_skips_biases_and_counts_as_an_in_place_write():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    with tg.no_grad():
        model[0].weight.mul_(100.0)
        model[0].bias.fill_(100.0)
        model[1].weight.fill_(100.0)
    y = model[0].weight.sum()  # a graph saving nothing of the weight
    h = model[0].weight * model[0].weight  # a graph that saved the weight
    R.max_norm_(model, 1.0)
    assert np.all(np.linalg.norm(model[0].weight.numpy(), axis=1) <= 1.0 + 1e-6)
    assert np.all(model[0].bias.numpy() == 100.0) and np.all(model[1].weight.numpy() == 100.0)
    y.backward()
    with pytest.raises(RuntimeError, match="Mul: one of the values it saved .* in-place"):
        h.sum().backward()


# -- penalty_breakdown ---------------------------------------------------------------------

def test_penalty_breakdown_splits_the_loss_and_sums_to_it():
    tg.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 5, dtype=np.float64), nn.ReLU(),
                          nn.Linear(5, 1, dtype=np.float64))
    x = tg.tensor(rng(2).standard_normal((8, 4)))
    h = model[1](model[0](x))
    out = model[2](h)
    data = (out * out).mean()
    loss = data + R.l2_penalty(model, 0.01) + R.l1_penalty(model, 0.02) + R.activity_l1(h, 0.1)
    parts = R.penalty_breakdown(loss)
    assert list(parts) == ["data", "L2Penalty(lam=0.01)", "L1Penalty(lam=0.02)",
                           "ActivityL1(lam=0.1)"]
    assert parts["data"] == pytest.approx(data.item(), rel=1e-12)
    assert sum(parts.values()) == pytest.approx(loss.item(), rel=1e-12)
    assert parts["L2Penalty(lam=0.01)"] == pytest.approx(
        0.005 * sum(float((w.numpy() ** 2).sum()) for w in R.penalized_parameters(model)))
    twice = loss + R.l2_penalty(model, 0.01)
    assert "L2Penalty(lam=0.01) #2" in R.penalty_breakdown(twice)
    loss.backward(retain_graph=True)
    assert R.penalty_breakdown(loss) == parts
    loss.backward()
    with pytest.raises(RuntimeError, match="call it before loss.backward"):
        R.penalty_breakdown(loss)
    with tg.no_grad():
        detached = (model(x) ** 2).mean()
    with pytest.raises(ValueError, match="no graph"):
        R.penalty_breakdown(detached)
    plain = (model(x) ** 2).mean()
    assert R.penalty_breakdown(plain) == {"data": plain.item()}


# -- tinygrad_reg.lab --------------------------------------------------------------------------

def test_early_stopping_counts_patience_like_keras_and_restores_the_best_bitwise():
    model = nn.Linear(2, 1)
    stopper = lab.EarlyStopping(patience=2, min_delta=0.01)
    losses = [1.0, 0.5, 0.495, 0.6, 0.4]
    stops = []
    best_weight = None
    for epoch, loss in enumerate(losses):
        with tg.no_grad():
            model.weight.fill_(float(epoch))
        if epoch == 1:
            best_weight = model.weight.numpy().copy()
        stops.append(stopper.step(loss, model))
        if stops[-1]:
            break
    # 0.495 is not better by more than min_delta: epochs 2 and 3 do not count, 3 stops
    assert stops == [False, False, False, True]
    assert stopper.best == 0.5 and stopper.best_epoch == 1 and stopper.stopped_epoch == 3
    assert model.weight.numpy().tobytes() == best_weight.tobytes()


def test_early_stopping_mode_max_and_bad_arguments():
    s = lab.EarlyStopping(patience=1, mode="max", restore_best=False)
    assert [s.step(a) for a in (0.5, 0.6, 0.6)] == [False, False, True]
    with pytest.raises(ValueError, match="patience must be an int >= 0"):
        lab.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        lab.EarlyStopping(mode="low")
    with pytest.raises(ValueError, match="pass the model"):
        lab.EarlyStopping().step(1.0)


def test_mc_dropout_samples_dropout_but_keeps_batch_norm_in_eval():
    tg.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(16, 1))
    x = tg.tensor(rng(4).standard_normal((5, 3)).astype(np.float32))
    model(x)  # a training pass: running statistics move away from (0, 1)
    running = model[1].running_mean.numpy().copy()
    model.train()
    mean, std = lab.mc_dropout_predict(model, x, n_samples=200, generator=rng(5))
    assert mean.shape == (5, 1) and std.shape == (5, 1) and np.all(std.numpy() > 0)
    assert model.training and all(m.training for m in model.modules())  # modes restored
    np.testing.assert_array_equal(model[1].running_mean.numpy(), running)  # eval BN
    again, _ = lab.mc_dropout_predict(model, x, n_samples=200, generator=rng(5))
    np.testing.assert_array_equal(mean.numpy(), again.numpy())
    model.eval()
    deterministic = model(x).numpy()
    np.testing.assert_allclose(mean.numpy(), deterministic, atol=4 * std.numpy().max())
    with pytest.raises(ValueError, match="no dropout-type layer"):
        lab.mc_dropout_predict(nn.Linear(3, 1), x)


def test_sweep_runs_every_configuration_and_seed(tmp_path):
    calls = []

    def train(lam, p, seed):
        calls.append((lam, p, seed))
        return {"val": lam + p + seed / 10, "history": [1.0, 0.5]}

    records = lab.sweep(train, {"lam": [0.0, 0.1], "p": [0.2, 0.5]}, seeds=[0, 1],
                        progress=False)
    assert len(records) == 8 and calls[0] == (0.0, 0.2, 0) and calls[-1] == (0.1, 0.5, 1)
    assert records[0] == {"lam": 0.0, "p": 0.2, "seed": 0, "val": 0.2, "history": [1.0, 0.5]}
    stats = lab.summarize(records, ["lam", "p"], "val")
    assert stats[0]["mean"] == pytest.approx(0.25) and stats[0]["n"] == 2
    fig = lab.plot_sweep(records, "lam", "val", hue="p", path=tmp_path / "sweep.png")
    fig2 = lab.plot_curves({"train_loss": [1, 0.5], "val_loss": [1.1, 0.8]},
                           path=tmp_path / "curves.png")
    assert (tmp_path / "sweep.png").stat().st_size > 5000
    assert (tmp_path / "curves.png").stat().st_size > 5000
    import matplotlib.pyplot as plt

    plt.close(fig)
    plt.close(fig2)
    listed = lab.sweep(train, [{"lam": 1.0, "p": 0.0}], seeds=[3], progress=True)
    assert listed[0]["val"] == pytest.approx(1.3)
    with pytest.raises(TypeError, match="list of values"):
        lab.sweep(train, {"lam": 0.1}, progress=False)


def test_activity_penalties_at_the_kink_and_exact_values():
    x = t64([[0.0, 2.0, -3.0], [1.0, 0.0, -0.5]])
    R.activity_l1(x, 0.6).backward()  # (lam / N) · sign(x), sign(0) = 0
    np.testing.assert_array_equal(x.grad.numpy(), 0.3 * np.sign(x.numpy()))
    assert R.activity_l1(x, 0.6).item() == pytest.approx(0.3 * 6.5)
    x.grad = None
    R.activity_l2(x, 0.6).backward()  # (lam / N) · x
    np.testing.assert_allclose(x.grad.numpy(), 0.3 * x.numpy())
    assert R.activity_l2(x, 0.6).item() == pytest.approx(0.15 * (4 + 9 + 1 + 0.25))
