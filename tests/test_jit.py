"""tg.jit: a replayed step is bitwise equal to the eager step (parameters, losses, gradients,
optimizer state, random draws), re-traces when its signature changes, and refuses what it
cannot replay with an error naming the op."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn
from tinygrad_reg import regularization as R
from tinygrad_reg.jit import JitError
from tinygrad_reg.nn import functional as F


def article_net(dtype, seed=0):
    tg.manual_seed(seed)
    gen = np.random.default_rng(seed)
    model = nn.Sequential(
        nn.Linear(20, 16, dtype=dtype, generator=gen), nn.ReLU(), nn.Dropout(keep_prob=0.8),
        nn.Linear(16, 8, dtype=dtype, generator=gen), nn.ReLU(), nn.Dropout(keep_prob=0.8),
        nn.Linear(8, 1, dtype=dtype, generator=gen))
    opt = tg.optim.SGD(model.parameters(), lr=0.05)

    def step(X, y):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(X), y) + R.l2_penalty(model, 0.005)
        loss.backward()
        opt.step()
        return loss

    return model, opt, step


def batches(dtype, n=100, batch=32, seed=1):
    rng = np.random.default_rng(seed)
    return [(tg.tensor(rng.standard_normal((batch, 20)).astype(dtype)),
             tg.tensor((rng.random((batch, 1)) < 0.5).astype(dtype))) for _ in range(n)]


def assert_same_models(a, b):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes(), name
        assert p.grad.numpy().tobytes() == q.grad.numpy().tobytes(), name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_100_steps_of_the_articles_network_are_bitwise_equal(dtype):
    data = batches(dtype)
    m1, _, s1 = article_net(dtype)
    eager = [s1(X, y).item() for X, y in data]
    m2, _, s2 = article_net(dtype)
    step = tg.jit(s2)
    jitted = [step(X, y).item() for X, y in data]
    assert jitted == eager
    assert_same_models(m1, m2)
    assert step.traces == 2 and step.replays == 98


def cnn_step(seed=0):
    tg.manual_seed(seed)
    drop = nn.Dropout(0.25, generator=np.random.default_rng(5))  # a stream of its own
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), drop, nn.Linear(16, 3))
    opt = tg.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-3)
    sched = tg.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)

    def step(x, labels):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), labels, label_smoothing=0.1)
        loss.backward()
        opt.step()
        return loss

    return model, opt, sched, step


def test_a_cnn_with_batch_norm_adam_and_a_schedule_replays_bitwise():
    rng = np.random.default_rng(2)
    data = [(tg.tensor(rng.standard_normal((6, 1, 4, 4)).astype(np.float32)),
             tg.tensor(rng.integers(0, 3, 6))) for _ in range(12)]
    m1, o1, sch1, s1 = cnn_step()
    m2, o2, sch2, s2 = cnn_step()
    step = tg.jit(s2)
    for X, y in data:
        a, b = s1(X, y), step(X, y)
        assert a.numpy().tobytes() == b.numpy().tobytes()
        sch1.step()
        sch2.step()  # the lr changes between replays; the replay reads it
    assert_same_models(m1, m2)
    for k, v in m1.state_dict().items():  # running statistics, num_batches_tracked
        assert v.tobytes() == m2.state_dict()[k].tobytes(), k
    s1_state, s2_state = o1.state_dict()["state"], o2.state_dict()["state"]
    assert s1_state[0]["step"] == s2_state[0]["step"] == 12
    assert step.replays == 10


def test_signature_changes_retrace_and_eval_mode_is_its_own_trace():
    model, _, s = article_net(np.float64)[0:3]
    step = tg.jit(s)
    for X, y in batches(np.float64, n=3, batch=8):
        step(X, y)
    for X, y in batches(np.float64, n=3, batch=5, seed=3):  # another batch size
        step(X, y)
    assert step.traces == 4 and step.replays == 2

    @tg.jit
    def predict(X):
        with tg.no_grad():
            return model(X)

    X = batches(np.float64, n=1)[0][0]
    model.eval()
    outs = [predict(X).numpy() for _ in range(3)]
    model.train()
    train_out = predict(X).numpy()  # dropout on: a new trace, not the eval replay
    assert predict.traces == 3
    assert np.array_equal(outs[0], outs[2]) and not np.array_equal(outs[0], train_out)


class Cube(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3.0 * x * x


class NumpyCube(tg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad._data * 3.0 * x._data ** 2  # arrays: runs outside the recorded kernels


def test_user_functions_replay_and_a_numpy_backward_is_refused():
    w = tg.tensor([1.0, 2.0], requires_grad=True)

    def f(x):
        w.grad = None
        y = Cube.apply(w * x).sum()
        y.backward()
        return y

    step = tg.jit(f)
    for v in (1.0, 2.0, 3.0, 0.5):
        out = step(tg.tensor([v, v]))
        assert out.item() == pytest.approx(9 * v ** 3)
        np.testing.assert_allclose(w.grad.numpy(), 3 * np.array([1.0, 4.0]) * v ** 3)

    def g(x):
        w.grad = None
        y = NumpyCube.apply(w * x).sum()
        y.backward()
        return y

    bad = tg.jit(g)
    bad(tg.tensor([1.0, 1.0]))
    with pytest.raises(JitError, match=r"made outside the recorded kernels .* Tensor ops"):
        bad(tg.tensor([2.0, 2.0]))


def test_data_dependent_python_is_refused_or_caught_by_check():
    w = tg.tensor([1.0, -1.0], requires_grad=True)

    def leak(x):  # a constant computed with numpy from the data
        return w * tg.tensor(np.abs(x.numpy()))

    step = tg.jit(leak)
    step(tg.tensor([1.0, 2.0]))
    with pytest.raises(JitError, match="Mul's input 1 .* changed between two calls"):
        step(tg.tensor([3.0, 4.0]))

    def branch(x):  # a decision read from the data: refused on the first call
        return x.exp() if x.sum().item() > 0 else x.sin()

    with pytest.raises(JitError, match=r"Tensor\.item\(\) reads a Python value .* the "
                                       r"result of Sum"):
        tg.jit(branch)(tg.tensor([1.0]))

    # a decision on Python state that takes the same path twice and another one later:
    # only check= can see it
    path = {"exp": True}

    def python_branch(x):
        return x.exp() if path["exp"] else x.sin()

    checked = tg.jit(python_branch, check=2)
    for v in (1.0, 2.0, 3.0):
        checked(tg.tensor([v]))
    path["exp"] = False
    with pytest.raises(JitError, match="check: the replay differs from eager in output 0"):
        checked(tg.tensor([-1.0]))


def test_check_passes_for_a_correct_step_and_leaves_the_eager_state():
    data = batches(np.float32, n=6)
    m1, _, s1 = article_net(np.float32)
    eager = [s1(X, y).item() for X, y in data]
    m2, _, s2 = article_net(np.float32)
    step = tg.jit(s2, check=3)
    assert [step(X, y).item() for X, y in data] == eager
    assert_same_models(m1, m2)


@pytest.mark.parametrize("call, error, words", [
    (lambda j: j(np.ones(2)), TypeError, "argument 0 is a ndarray; a jitted function takes"),
    (lambda j: j("x"), TypeError, "argument 0 is a str"),
])
def test_bad_arguments(call, error, words):
    with pytest.raises(error, match=words):
        call(tg.jit(lambda x: x * 2))


def test_outputs_must_be_tensors():
    with pytest.raises(JitError, match=r"return the loss, not loss.item\(\)"):
        tg.jit(lambda x: (x * 2).sum().numpy())(tg.tensor([1.0]))
    with pytest.raises(JitError, match=r"Tensor\.item\(\) .*call \.item\(\) on the result"):
        tg.jit(lambda x: (x * 2).sum().item())(tg.tensor([1.0]))
    with pytest.raises(ValueError, match="check must be an int >= 0"):
        tg.jit(lambda x: x, check=-1)


def test_gradients_accumulated_across_calls_are_refused():
    w = tg.tensor([1.0], requires_grad=True)

    def f(x):
        (w * x).sum().backward()  # no zero_grad: .grad from the previous call is added to
        return w.grad

    step = tg.jit(f)
    step(tg.tensor([1.0]))
    with pytest.raises(JitError, match="zero_grad"):
        step(tg.tensor([2.0]))


def test_the_traced_graph_is_the_eager_graph():
    X, y = batches(np.float64, n=1)[0]
    m1, _, s1 = article_net(np.float64)
    eager_dot = tg.viz.to_dot(s1(X, y), params=m1)
    m2, _, s2 = article_net(np.float64)
    step = tg.jit(s2)
    step(X, y)
    assert tg.viz.to_dot(step.traced_outputs, params=m2) == eager_dot


def test_a_gradient_summed_from_three_uses_replays():
    # three contributions to w's gradient: the engine sums the first two into a new array and
    # adds the third in place; both are kernels of the replay
    def make():
        w = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)

        def f(x):
            w.grad = None
            loss = (w * x).sum() + (w * w * x).sum() + R.l2_penalty(w, 0.1)
            loss.backward()
            return loss
        return w, f

    w1, f1 = make()
    w2, f2 = make()
    step = tg.jit(f2)
    for v in (1.0, 2.0, -3.0, 0.25):
        x = tg.tensor([v, 2 * v, 3 * v])
        assert f1(x).item() == step(x).item()
        assert w1.grad.numpy().tobytes() == w2.grad.numpy().tobytes()
    assert step.replays == 2


def test_an_argument_that_requires_grad_gets_its_gradient():
    def f(x, c):
        y = (x * c).tanh().sum()
        y.backward()
        return x.grad

    step = tg.jit(f)
    for v in (0.1, 0.2, 0.3, 0.4):
        x = tg.tensor([v, -v], requires_grad=True)
        g = step(x, tg.tensor([1.0, 2.0]))
        want = np.array([1.0, 2.0]) * (1 - np.tanh(np.array([v, -2 * v])) ** 2)
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-6)
    assert step.replays == 2


@pytest.mark.filterwarnings("ignore:overflow encountered in exp")
def test_anomaly_mode_runs_the_function_eagerly():
    step = tg.jit(lambda x: (x * 2.0).exp())
    for _ in range(3):
        step(tg.tensor([1.0]))
    with tg.detect_anomaly():
        with pytest.raises(FloatingPointError, match="Exp"):
            step(tg.tensor([1e4]))  # overflows: anomaly mode names the op
    assert step.traces == 2 and step.replays == 1


def test_replays_from_several_threads_at_once():
    import threading

    step = tg.jit(lambda x: (x.tanh() * x).sum(dim=1))
    step(tg.ones(4, 3))
    step(tg.ones(4, 3))
    results, errors = {}, []

    def work(k):
        try:
            for j in range(50):
                x = tg.full((4, 3), 0.01 * (k * 50 + j))
                results[(k, j)] = (step(x).numpy(), (x.tanh() * x).sum(dim=1).numpy())
        except Exception as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(np.array_equal(a, b) for a, b in results.values())


@pytest.mark.parametrize("change", ["data", "to", "replace_parameter", "replace_child",
                                    "dropout_rate"])
def test_replacing_what_the_replay_reads_in_place_traces_again(change):
    # a replay reads parameters in place; one replaced after the trace would make it stale
    def make():
        tg.manual_seed(0)
        gen = np.random.default_rng(7)  # each model its own dropout stream
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Dropout(p=0.0, generator=gen),
                              nn.Linear(4, 1))
        return model, (lambda x: (model(x) ** 2).sum())

    (m1, f1), (m2, f2) = make(), make()
    step = tg.jit(f2)
    x = tg.ones(5, 3)
    for _ in range(3):
        assert step(x).item() == f1(x).item()
    assert step.replays == 1
    for m in (m1, m2):
        tg.manual_seed(1)
        if change == "data":
            m[0].weight.data = np.full((4, 3), 0.5, np.float32)
        elif change == "to":
            m.to(np.float64)
        elif change == "replace_parameter":
            m[3].bias = nn.Parameter(np.array([3.0], np.float32))
        elif change == "dropout_rate":
            m[2].p = 0.5
        else:
            m[3] = nn.Linear(4, 1)
    for _ in range(3):
        x = x.to(m1[0].weight.dtype) if change == "to" else x
        assert step(x).item() == f1(x).item()
    assert step.traces == 4 and step.replays == 2


def test_changing_parameters_in_place_keeps_replaying():
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))

    def f(x):
        return (model(x) ** 2).sum()

    step = tg.jit(f)
    x = tg.ones(5, 3)
    for _ in range(3):
        step(x)
    with tg.no_grad():
        model[0].weight *= 0.5  # in place, then assigned back to the same attribute
    model.load_state_dict(model.state_dict())
    assert step(x).item() == f(x).item()
    assert step.traces == 2 and step.replays == 2


def test_a_loop_that_replaces_attributes_every_call_warns():
    lin = nn.Linear(2, 1)
    step = tg.jit(lambda x: lin(x).sum())
    x = tg.ones(3, 2)
    with pytest.warns(RuntimeWarning, match="traced again 3 times"):
        for k in range(12):
            lin.note = f"step {k}"  # a new object on the module before every call
            assert step(x).item() == lin(x).sum().item()
    assert step.replays == 0


def test_a_module_that_ran_no_op_is_still_watched():
    # traced with the dropout in eval mode (it runs no op); switched to training afterwards,
    # the replay must not keep skipping it
    def make():
        gen = np.random.default_rng(3)
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(p=0.5, generator=gen))
        model[1].eval()
        return model, (lambda x: model(x).sum())

    (m1, f1), (m2, f2) = make(), make()
    step = tg.jit(f2)
    x = tg.ones(5, 3)
    for _ in range(3):
        assert step(x).item() == f1(x).item()
    m1[1].train()
    m2[1].train()
    for _ in range(3):
        assert step(x).item() == f1(x).item()
    assert step.traces == 4


@pytest.mark.parametrize("change", ["freeze", "add_group", "load_state"])
def test_optimizer_and_requires_grad_changes_trace_again(change):
    def make():
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        opt = tg.optim.SGD(model[2].parameters(), lr=0.1, momentum=0.9)

        def step(x):
            model.zero_grad()  # (every parameter: some are not the optimizer's at first)
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return model, opt, step

    (m1, o1, s1), (m2, o2, s2) = make(), make()
    jitted = tg.jit(s2)
    x = tg.ones(5, 3)
    for _ in range(3):
        assert jitted(x).item() == s1(x).item()
    saved = [o.state_dict() for o in (o1, o2)]
    for _ in range(2):
        s1(x)
        jitted(x)
    for (m, o), sd in zip(((m1, o1), (m2, o2)), saved):
        if change == "freeze":
            m[2].weight.requires_grad = False
        elif change == "add_group":
            o.add_param_group({"params": m[0].parameters(), "lr": 0.05})
        else:
            o.load_state_dict(sd)  # back to the momentum of three steps ago
    for _ in range(4):
        assert jitted(x).item() == s1(x).item()
    for p, q in zip(m1.parameters(), m2.parameters()):
        assert p.numpy().tobytes() == q.numpy().tobytes()
    assert jitted.traces == 4
