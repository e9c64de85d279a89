"""Optimizers and learning-rate schedules against PyTorch 2.13: the trajectories of every
update rule (float64, 6 steps on a small nonlinear problem) and the rates of every schedule,
as PyTorch gave them once, pinned here to 1e-10; parameter groups, state dicts, resuming."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import optim
from tinygrad_reg.optim import lr_scheduler as S

W0 = [[0.3, -0.7], [1.2, 0.1]]
B0 = [0.5, -0.25]
_M = np.array([[1.0, -2.0], [0.5, 3.0]])


def loss_fn(w, b):
    return ((w @ tg.tensor(_M) + b).tanh() ** 2).sum() + (w ** 4).sum() * 0.1


def run(make, steps=6):
    w = tg.tensor(W0, dtype=tg.float64, requires_grad=True)
    b = tg.tensor(B0, dtype=tg.float64, requires_grad=True)
    opt = make([w, b])
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(w, b).backward()
        opt.step()
    return w.numpy(), b.numpy()


# PyTorch 2.13's parameters after 6 steps
PYTORCH = {
    "sgd_damp": (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.05),
        [[-0.14120580741771846, -0.31956521856234366], [-0.19141059648203115, 0.19576990205768205]],
        [-0.28069344670287744, -0.023539260807444798]),
    "sgd_nesterov_max": (
        lambda ps: optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, maximize=True),
        [[0.9497074373272112, -0.5601968685562292], [2.8038251999125485, 0.06432805616222713]],
        [1.1634500944599326, -0.2913287024879379]),
    "adam_amsgrad": (
        lambda ps: optim.Adam(ps, lr=0.05, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True),
        [[0.024839214769595448, -0.6212518091777153], [0.8979122497999681, 0.38078986528979947]],
        [0.21152716595774174, 0.04329654577260002]),
    "adamw": (lambda ps: optim.AdamW(ps, lr=0.05, weight_decay=0.2),
        [[0.021984585285854306, -0.6847772264735915], [0.8358132455178412, 0.36327191756238186]],
        [0.19095123022210223, 0.044492191832334944]),
    "rmsprop": (lambda ps: optim.RMSprop(ps, lr=0.02, alpha=0.9, weight_decay=0.1),
        [[0.07925396523000032, -0.5189529714571604], [0.9279534160204665, 0.4326094731737097]],
        [0.27878948911089285, 0.06698735386392848]),
    "rmsprop_centered_momentum": (
        lambda ps: optim.RMSprop(ps, lr=0.02, momentum=0.5, centered=True),
        [[-0.07262967498091653, 0.024999115385081854], [0.5370438351231138, 0.2918679789054503]],
        [-0.2664105338851531, 0.16066120849082952]),
    "adagrad": (lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.05, weight_decay=0.1,
                                      initial_accumulator_value=0.2),
        [[0.0580647889306652, -0.5315200820205781], [0.8403661316998285, 0.41079001103320256]],
        [0.224857440407775, 0.014816437433188868]),
    "groups": (lambda ps: optim.SGD([{"params": [ps[0]], "lr": 0.2},
                                   {"params": [ps[1]], "momentum": 0.5}], lr=0.05),
        [[-0.184967121908719, -0.2166750755915802], [0.13743595180070886, 0.033170496751044894]],
        [0.1521453292577714, -0.14524575691789995]),
}


@pytest.mark.parametrize("name", sorted(PYTORCH))
def test_trajectories_equal_pytorchs(name):
    make, w, b = PYTORCH[name]
    got_w, got_b = run(make)
    np.testing.assert_allclose(got_w, w, rtol=0, atol=1e-10)
    np.testing.assert_allclose(got_b, b, rtol=0, atol=1e-10)


# PyTorch 2.13's rates: the initial one, then after each of 12 steps (and the momentum)
SCHEDULES = {
    "step": (lambda o: S.StepLR(o, step_size=3, gamma=0.5),
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125, 0.00625],
        [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
    "multistep": (lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
        [0.1, 0.1, 0.03, 0.03, 0.03, 0.0026999999999999997, 0.0026999999999999997,
         0.0026999999999999997, 0.0026999999999999997, 0.0008099999999999998, 0.0008099999999999998,
         0.0008099999999999998, 0.0008099999999999998],
        [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
    "exponential": (lambda o: S.ExponentialLR(o, gamma=0.9),
        [0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.06561000000000002,
         0.05904900000000002, 0.05314410000000002, 0.04782969000000002, 0.043046721000000024,
         0.03874204890000002, 0.03486784401000002, 0.03138105960900001, 0.028242953648100012],
        [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
    "cosine": (lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
        [0.1, 0.09140576474687263, 0.06890576474687263, 0.04109423525312736, 0.018594235253127367,
         0.01, 0.018594235253127367, 0.04109423525312739, 0.06890576474687267, 0.09140576474687269,
         0.10000000000000006, 0.09140576474687272, 0.06890576474687268],
        [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
    "linear": (lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4),
        [0.025, 0.043750000000000004, 0.06250000000000001, 0.08125000000000002,
         0.10000000000000002, 0.10000000000000002, 0.10000000000000002, 0.10000000000000002,
         0.10000000000000002, 0.10000000000000002, 0.10000000000000002, 0.10000000000000002,
         0.10000000000000002],
        [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
    "lambda": (lambda o: S.LambdaLR(o, lambda e: 0.95 ** e + e / 100),
        [0.1, 0.096, 0.09225, 0.0887375, 0.085450625, 0.08237809374999999, 0.07950918906249999,
         0.07683372960937498, 0.07434204312890623, 0.07202494097246091, 0.06987369392383787,
         0.06788000922764596, 0.06603600876626367],
        [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
    "onecycle": (lambda o: S.OneCycleLR(o, max_lr=1.0, total_steps=12),
        [0.040000000000000036, 0.3497896542195831, 0.8792851591221287, 0.9944154354509117,
         0.9330129698414117, 0.811745653949763, 0.6473789976951033, 0.46263710266697505,
         0.28306099820869923, 0.1334775301888306, 0.03456698742539522, 4e-06, 0.034566987425395164],
        [0.9177302443521267, 0.8625744625914449, 0.8505584586887436, 0.856698729810778,
         0.8688255099070633, 0.8852622412794547, 0.9037365046793212, 0.9216941869558779,
         0.9366525935914912, 0.9465436874322102, 0.95, 0.9465436874322102]),
    "onecycle_linear_3phase": (
        lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=12, anneal_strategy="linear",
                               three_phase=True),
        [0.02, 0.20461538461538464, 0.3892307692307693, 0.4261538461538461, 0.24153846153846148,
         0.0569230769230768, 0.01724165517241379, 0.013793724137931033, 0.010345793103448273,
         0.006897862068965515, 0.0034499310344827568, 1.9999999999985307e-06,
         -0.0034459310344827597],
        [0.9115384615384615, 0.8730769230769231, 0.8653846153846154, 0.9038461538461539,
         0.9423076923076923, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]),
    "onecycle_adam": (lambda o: S.OneCycleLR(o, max_lr=0.3, total_steps=12),
        [0.01200000000000001, 0.10493689626587491, 0.2637855477366386, 0.29832463063527354,
         0.2799038909524235, 0.24352369618492892, 0.194213699308531, 0.13879113080009253,
         0.08491829946260977, 0.04004325905664918, 0.010370096227618567, 1.2e-06,
         0.01037009622761855],
        [0.9177302443521267, 0.8625744625914449, 0.8505584586887436, 0.856698729810778,
         0.8688255099070633, 0.8852622412794547, 0.9037365046793212, 0.9216941869558779,
         0.9366525935914912, 0.9465436874322102, 0.95, 0.9465436874322102]),
    "plateau": (lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1),
        [0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125],
        [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]),
}
METRIC = [1.0, 0.9, 0.95, 0.96, 0.97, 0.85, 0.86, 0.86, 0.86, 0.86, 0.86, 0.86]


def _schedule(name, steps=12):
    make = SCHEDULES[name][0]
    w = tg.tensor([1.0], dtype=tg.float64, requires_grad=True)
    opt = optim.Adam([w], lr=0.1) if name == "onecycle_adam" else \
        optim.SGD([w], lr=0.1, momentum=0.9)
    sched = make(opt)
    lrs, moms = [opt.param_groups[0]["lr"]], []
    for i in range(steps):
        w.grad = tg.zeros(1, dtype=tg.float64)
        opt.step()
        sched.step(METRIC[i]) if name == "plateau" else sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        g = opt.param_groups[0]
        moms.append(g["betas"][0] if "betas" in g else g["momentum"])
    return lrs, moms, sched, opt


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedules_equal_pytorchs(name):
    _, want_lrs, want_moms = SCHEDULES[name]
    lrs, moms, sched, _ = _schedule(name)
    np.testing.assert_allclose(lrs, want_lrs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(moms, want_moms, rtol=1e-12)
    assert sched.get_last_lr() == [lrs[-1]]


@pytest.mark.parametrize("name", sorted(set(SCHEDULES) - {"lambda"}))
def test_a_resumed_schedule_continues_exactly(name, tmp_path):
    want = _schedule(name)[0]
    lrs, _, sched, opt = _schedule(name, steps=5)
    tg.save({"sched": sched.state_dict(), "optim": opt}, tmp_path / "c")
    state = tg.load(tmp_path / "c")
    w = opt.param_groups[0]["params"][0]
    # PyTorch's order: make the optimizer and the schedule, then load both states (making a
    # schedule takes a step, which would otherwise change the restored rate)
    opt2 = type(opt)([w], lr=123.0)
    sched2 = SCHEDULES[name][0](opt2)
    opt2.load_state_dict(state["optim"])
    sched2.load_state_dict(state["sched"])
    for i in range(5, 12):
        w.grad = tg.zeros(1, dtype=tg.float64)
        opt2.step()
        sched2.step(METRIC[i]) if name == "plateau" else sched2.step()
        lrs.append(opt2.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, want, rtol=1e-12, atol=1e-15)


def test_stepping_the_schedule_before_the_optimizer_warns_as_pytorch():
    w = tg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    sched = S.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match=r"lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()
    w.grad = tg.zeros(1)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


# -- parameter groups and state ------------------------------------------------------------

def test_param_groups_take_effect_and_can_be_added():
    w = tg.tensor([1.0], dtype=tg.float64, requires_grad=True)
    b = tg.tensor([1.0], dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([{"params": [w], "lr": 0.5}], lr=0.1)
    opt.add_param_group({"params": [b]})
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    opt.param_groups[1]["lr"] = 0.25  # takes effect at the next step
    w.grad, b.grad = tg.tensor([1.0], dtype=tg.float64), tg.tensor([1.0], dtype=tg.float64)
    opt.step()
    assert (w.item(), b.item()) == (0.5, 0.75)
    with pytest.raises(AttributeError, match=r"lr differs between parameter groups"):
        _ = opt.lr
    opt.lr = 0.0  # sets every group
    assert [g["lr"] for g in opt.param_groups] == [0.0, 0.0]
    with pytest.raises(ValueError, match="the same tensor as group 0's params"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(ValueError, match=r"unknown hyper-parameters \['betas'\]"):
        opt.add_param_group({"params": [tg.zeros(1, requires_grad=True)], "betas": (0.9, 0.9)})


def test_zero_grad_to_none_or_to_zeros():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and not w.grad.numpy().any()
    opt.zero_grad()
    assert w.grad is None


def test_state_dict_has_pytorchs_layout_and_round_trips_through_save(tmp_path):
    w = tg.tensor(W0, dtype=tg.float64, requires_grad=True)
    b = tg.tensor(B0, dtype=tg.float64, requires_grad=True)
    opt = optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.01}], lr=0.05, amsgrad=True)
    loss_fn(w, b).backward()
    opt.step()
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    assert sorted(sd["state"]) == [0, 1]
    assert sorted(sd["state"][0]) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert sd["param_groups"][1] == {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8,
                                     "weight_decay": 0.0, "amsgrad": True, "maximize": False,
                                     "params": [1]}
    tg.save(opt, tmp_path / "opt")
    w2 = tg.tensor(W0, dtype=tg.float64, requires_grad=True)
    b2 = tg.tensor(B0, dtype=tg.float64, requires_grad=True)
    opt2 = optim.Adam([{"params": [w2]}, {"params": [b2]}])
    opt2.load_state_dict(tg.load(tmp_path / "opt"))
    assert opt2.param_groups[1]["lr"] == 0.01 and opt2.state[b2]["step"] == 1
    np.testing.assert_array_equal(opt2.state[w2]["max_exp_avg_sq"],
                                  opt.state[w]["max_exp_avg_sq"])
    # a PyTorch state dict: step as a float tensor, and PyTorch's switches at their defaults
    sd["state"][0]["step"] = np.asarray(1.0, dtype=np.float32)
    for g in sd["param_groups"]:
        g.update(foreach=None, capturable=False, differentiable=False, fused=None)
    opt2.load_state_dict(sd)
    with pytest.raises(ValueError, match="PyTorch option capturable=True is not supported"):
        opt2.load_state_dict({**sd, "param_groups": [
            {**sd["param_groups"][0], "capturable": True}, sd["param_groups"][1]]})


def test_step_with_a_closure_returns_its_loss():
    w = tg.tensor([2.0], dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tg.no_grad():  # the closure still records (grad mode on inside)
        loss = opt.step(closure)
    assert loss.item() == 4.0 and w.item() == 1.0
