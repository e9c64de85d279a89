"""Three chapters of "Dive into Deep Learning" (d2l.ai, PyTorch edition) run with only the
imports changed, and give PyTorch's numbers.

The programs below re-express, in our own words, the computations of the book's chapters on
weight decay, dropout and batch normalization: the same models, losses, optimizers and
training loops, written against PyTorch's API the way the book writes them (lazy layers, a
device-choosing helper, ``torch.normal``, ``torch.utils.data``, ``Module.apply`` with an
initialiser that compares ``type(m) == nn.Linear``, ``Tensor.type``, a batch norm by hand
that keeps its moving statistics out of the graph, ``backward()`` inside ``torch.no_grad()``).
Small synthetic data replaces the downloads, and a few steps replace the epochs.

The only PyTorch-specific lines are the three imports just below. With them changed to
``import torch``, ``from torch import nn``, ``from torch.nn import functional as F``, the
same source was run once under PyTorch 2.13 (CPU), and the numbers it gave are pinned in
``PYTORCH``. For that run the random draws were made equal: the data and the initial weights
come from numpy (``share_initial_weights``, after the layers have learned their shapes), and
PyTorch's ``torch.manual_seed``/``torch.rand``/``nn.Dropout`` drew from numpy's
``default_rng(seed)`` as tinygrad_reg's do (``rand(shape)`` is ``random(shape, float32)``, a
dropout mask ``random(shape, float32) < 1 - p``). Everything else ran as PyTorch does.
The tests run only tinygrad_reg and compare to float32 rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_reg as torch  # the imports are the only change
from tinygrad_reg import nn
from tinygrad_reg.nn import functional as F

# -- the book's scaffolding, in brief: devices, a data module, a trainer ----------------------


def cpu():
    return torch.device("cpu")


def gpu(i=0):
    return torch.device(f"cuda:{i}")


def try_gpu(i=0):
    """The GPU i if there is one, else the CPU (here: always the CPU)."""
    return gpu(i) if torch.cuda.device_count() >= i + 1 else cpu()


def tensor_loader(arrays, batch_size):
    """A DataLoader over numpy arrays (in order: the book shuffles the training set, which
    would draw from each framework's own generator)."""
    dataset = torch.utils.data.TensorDataset(*(torch.tensor(a) for a in arrays))
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=False)


class Trainer:
    """The book's training loop: train mode, a step per batch with backward() inside
    no_grad(), then eval mode and the validation batches under no_grad()."""

    def __init__(self, max_epochs):
        self.max_epochs = max_epochs
        self.device = try_gpu()

    def prepare_batch(self, batch):
        return [a.to(self.device) for a in batch]

    def fit(self, model, train_loader, val_loader, optim=None):
        model.to(self.device)
        self.optim = optim if optim is not None else model.configure_optimizers()
        self.train_losses, self.val_metrics = [], []
        for _ in range(self.max_epochs):
            model.train()
            for batch in train_loader:
                loss = model.training_step(self.prepare_batch(batch))
                self.optim.zero_grad()
                with torch.no_grad():
                    loss.backward()
                    self.optim.step()
                self.train_losses.append(loss.item())
            model.eval()
            for batch in val_loader:
                with torch.no_grad():
                    self.val_metrics.append(model.validation_step(self.prepare_batch(batch)))
        return self


class Model(nn.Module):
    """The book's base model: a loss, a training and a validation step, plain SGD."""

    def __init__(self, lr):
        super().__init__()
        self.lr = lr

    def forward(self, X):
        return self.net(X)

    def training_step(self, batch):
        return self.loss(self(*batch[:-1]), batch[-1])

    def validation_step(self, batch):
        return [float(self.loss(self(*batch[:-1]), batch[-1]))]

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


class Classifier(Model):
    """Cross-entropy on the logits; the accuracy as the book computes it."""

    def loss(self, Y_hat, Y):
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        return F.cross_entropy(Y_hat, Y.reshape((-1,)), reduction="mean")

    def accuracy(self, Y_hat, Y):
        preds = Y_hat.reshape((-1, Y_hat.shape[-1])).argmax(axis=1).type(Y.dtype)
        return (preds == Y.reshape(-1)).type(torch.float32).mean()

    def validation_step(self, batch):
        Y_hat = self(*batch[:-1])
        return [float(self.loss(Y_hat, batch[-1])), float(self.accuracy(Y_hat, batch[-1]))]


def share_initial_weights(model, seed):
    """Give every Linear and Conv2d the same initial weights in both frameworks: numpy's draws
    from U(±1/√fan_in) (PyTorch's default distribution), loaded through the state dict."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, module in model.named_modules():
        if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721 - the idiom
            bound = 1 / np.sqrt(np.prod(tuple(module.weight.shape)[1:]))
            for kind in ("weight", "bias"):
                shape = tuple(getattr(module, kind).shape)
                state[f"{name}.{kind}"] = torch.tensor(
                    rng.uniform(-bound, bound, shape).astype(np.float32))
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected
    return state


def summary(params):
    """What is compared of each parameter: its size, its sum, the sum of its absolute values
    and of its squares, its first and last values."""
    out = {}
    for name, p in params:
        a = np.asarray(p.detach().numpy(), dtype=np.float64).ravel()
        out[name] = [a.size] + [float(v) for v in (a.sum(), np.abs(a).sum(), (a * a).sum(),
                                                   a[0], a[-1])]
    return out


# -- weight decay: high-dimensional linear regression ------------------------------------------
# The book's example: 20 training and 100 validation examples of 200 features, y = 0.05 +
# Σ 0.01·x + noise; L2 by hand (a penalty λ·‖w‖²/2 added to the loss, hand-written SGD) and
# through the optimizer (weight_decay on the weight's parameter group only).

def regression_data(seed=0, num_train=20, num_val=100, num_inputs=200):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num_train + num_val, num_inputs)).astype(np.float32)
    noise = (rng.standard_normal((num_train + num_val, 1)) * 0.01).astype(np.float32)
    y = (X @ np.full((num_inputs, 1), 0.01, np.float32) + np.float32(0.05) + noise)
    return (X[:num_train], y[:num_train]), (X[num_train:], y[num_train:])


def l2_penalty(w):
    return (w ** 2).sum() / 2


class HandSGD:
    """Minibatch SGD written out: param -= lr · grad (the caller holds no_grad())."""

    def __init__(self, params, lr):
        self.params, self.lr = params, lr

    def step(self):
        for param in self.params:
            param -= self.lr * param.grad

    def zero_grad(self):
        for param in self.params:
            if param.grad is not None:
                param.grad.zero_()


class WeightDecayScratch(Model):
    def __init__(self, num_inputs, lambd, lr, sigma=0.01):
        super().__init__(lr)
        self.lambd = lambd
        self.w = torch.normal(0, sigma, (num_inputs, 1), requires_grad=True)
        self.b = torch.zeros(1, requires_grad=True)

    def forward(self, X):
        return torch.matmul(X, self.w) + self.b

    def loss(self, y_hat, y):
        squared = (y_hat - y) ** 2 / 2
        return squared.mean() + self.lambd * l2_penalty(self.w)

    def configure_optimizers(self):
        return HandSGD([self.w, self.b], self.lr)


class WeightDecayConcise(Model):
    def __init__(self, wd, lr):
        super().__init__(lr)
        self.wd = wd
        self.net = nn.LazyLinear(1)
        self.net.weight.data.normal_(0, 0.01)  # as the book: lost at the lazy first call
        self.net.bias.data.fill_(0)

    def loss(self, y_hat, y):
        return nn.MSELoss()(y_hat, y)

    def configure_optimizers(self):
        return torch.optim.SGD([{"params": self.net.weight, "weight_decay": self.wd},
                                {"params": self.net.bias}], lr=self.lr)


def run_weight_decay_scratch(lambd):
    (Xt, yt), (Xv, yv) = regression_data()
    model = WeightDecayScratch(num_inputs=200, lambd=lambd, lr=0.01)
    w0 = np.random.default_rng(10).normal(0, 0.01, (200, 1)).astype(np.float32)
    with torch.no_grad():
        model.w.copy_(torch.tensor(w0))
    trainer = Trainer(max_epochs=2).fit(model, tensor_loader([Xt, yt], 5),
                                        tensor_loader([Xv, yv], 50))
    return {"train": trainer.train_losses, "val": trainer.val_metrics,
            "l2": float(l2_penalty(model.w)),
            "params": summary([("w", model.w), ("b", model.b)])}


def run_weight_decay_concise(wd):
    (Xt, yt), (Xv, yv) = regression_data()
    model = WeightDecayConcise(wd=wd, lr=0.01)
    optim = model.configure_optimizers()  # over the lazy layer's placeholders, as the book
    model.eval()
    with torch.no_grad():
        model(torch.tensor(Xt[:1]))  # the layer learns its shape
    share_initial_weights(model, seed=11)
    trainer = Trainer(max_epochs=2).fit(model, tensor_loader([Xt, yt], 5),
                                        tensor_loader([Xv, yv], 50), optim=optim)
    w = model.net.weight.numpy()  # the book reads the weight's .data for its norm
    return {"train": trainer.train_losses, "val": trainer.val_metrics,
            "l2": float(l2_penalty(w)), "params": summary(model.net.named_parameters())}


# -- dropout: an MLP on Fashion-MNIST-like images ------------------------------------------------
# Two hidden ReLU layers, dropout after each; by hand (a mask from torch.rand, the kept units
# scaled by 1/(1 - p), only in training mode) and with nn.Dropout.

def image_data(seed, n_train, n_val, classes=10):
    rng = np.random.default_rng(seed)
    X = rng.random((n_train + n_val, 1, 28, 28), dtype=np.float32)
    teacher = rng.standard_normal((28 * 28, classes))
    y = (X.reshape(len(X), -1) @ teacher).argmax(axis=1).astype(np.int64)
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])


def dropout_layer(X, dropout):
    assert 0 <= dropout <= 1
    if dropout == 1:
        return torch.zeros_like(X)
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)


class DropoutMLPScratch(Classifier):
    def __init__(self, num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr):
        super().__init__(lr)
        self.dropout_1, self.dropout_2 = dropout_1, dropout_2
        self.lin1 = nn.LazyLinear(num_hiddens_1)
        self.lin2 = nn.LazyLinear(num_hiddens_2)
        self.lin3 = nn.LazyLinear(num_outputs)
        self.relu = nn.ReLU()

    def forward(self, X):
        H1 = self.relu(self.lin1(X.reshape((X.shape[0], -1))))
        if self.training:
            H1 = dropout_layer(H1, self.dropout_1)
        H2 = self.relu(self.lin2(H1))
        if self.training:
            H2 = dropout_layer(H2, self.dropout_2)
        return self.lin3(H2)


class DropoutMLP(Classifier):
    def __init__(self, num_outputs, num_hiddens_1, num_hiddens_2, dropout_1, dropout_2, lr):
        super().__init__(lr)
        self.net = nn.Sequential(
            nn.Flatten(), nn.LazyLinear(num_hiddens_1), nn.ReLU(), nn.Dropout(dropout_1),
            nn.LazyLinear(num_hiddens_2), nn.ReLU(), nn.Dropout(dropout_2),
            nn.LazyLinear(num_outputs))


def run_dropout(model_class):
    (Xt, yt), (Xv, yv) = image_data(seed=1, n_train=64, n_val=32)
    model = model_class(num_outputs=10, num_hiddens_1=64, num_hiddens_2=32, dropout_1=0.5,
                        dropout_2=0.5, lr=0.1)
    optim = model.configure_optimizers()  # over placeholders: the book builds it here too
    model.eval()
    with torch.no_grad():
        model(torch.tensor(Xt[:2]))
    share_initial_weights(model, seed=12)
    torch.manual_seed(13)  # the dropout masks
    trainer = Trainer(max_epochs=2).fit(model, tensor_loader([Xt, yt], 16),
                                        tensor_loader([Xv, yv], 32), optim=optim)
    return {"train": trainer.train_losses, "val": trainer.val_metrics,
            "params": summary(model.named_parameters())}


# -- batch normalization: BN-LeNet ----------------------------------------------------------------
# LeNet with a batch norm after each convolution and each hidden linear layer, sigmoid
# activations; batch norm by hand (the batch's statistics while grad is enabled, the moving
# ones otherwise; momentum 0.1, eps 1e-5) and with nn.LazyBatchNorm1d/2d. The weights are
# initialised as the book does, a call on a batch and Module.apply(xavier for Linear/Conv2d),
# before the shared initial weights replace them.

def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    if not torch.is_grad_enabled():  # prediction: the moving statistics
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:  # per feature
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:  # per channel, over the batch and the positions
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
        moving_var = (1.0 - momentum) * moving_var + momentum * var
    Y = gamma * X_hat + beta
    return Y, moving_mean.data, moving_var.data


class BatchNorm(nn.Module):
    def __init__(self, num_features, num_dims):
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean, self.moving_var, eps=1e-5,
            momentum=0.1)
        return Y


class BNLeNetScratch(Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__(lr)
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5), BatchNorm(6, num_dims=4), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), BatchNorm(16, num_dims=4), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
            nn.LazyLinear(120), BatchNorm(120, num_dims=2), nn.Sigmoid(),
            nn.LazyLinear(84), BatchNorm(84, num_dims=2), nn.Sigmoid(),
            nn.LazyLinear(num_classes))


class BNLeNet(Classifier):
    def __init__(self, lr=0.1, num_classes=10):
        super().__init__(lr)
        self.net = nn.Sequential(
            nn.LazyConv2d(6, kernel_size=5), nn.LazyBatchNorm2d(), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.LazyConv2d(16, kernel_size=5), nn.LazyBatchNorm2d(), nn.Sigmoid(),
            nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
            nn.LazyLinear(120), nn.LazyBatchNorm1d(), nn.Sigmoid(),
            nn.LazyLinear(84), nn.LazyBatchNorm1d(), nn.Sigmoid(),
            nn.LazyLinear(num_classes))


def init_cnn(module):
    if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721 - the book's test
        nn.init.xavier_uniform_(module.weight)


def run_bn_lenet(model_class):
    (Xt, yt), (Xv, yv) = image_data(seed=2, n_train=32, n_val=16)
    model = model_class(lr=0.1)
    model.eval()
    with torch.no_grad():
        model(torch.tensor(Xt[:2]))  # the lazy layers learn their shapes...
    assert model.net.apply(init_cnn) is model.net  # ...then the book's initialiser
    visited = [type(m).__name__ for m in model.net.modules() if type(m) == nn.Conv2d]  # noqa: E721
    share_initial_weights(model, seed=14)
    trainer = Trainer(max_epochs=2).fit(model, tensor_loader([Xt, yt], 16),
                                        tensor_loader([Xv, yv], 16))
    out = {"train": trainer.train_losses, "val": trainer.val_metrics,
           "params": summary(model.named_parameters()), "convs": visited}
    if model_class is BNLeNetScratch:
        stats = [("1.moving_mean", model.net[1].moving_mean),
                 ("10.moving_var", model.net[10].moving_var)]
        out["stats"] = summary((k, torch.tensor(np.asarray(v))) for k, v in stats)
        out["gamma"] = list(model.net[1].gamma.reshape((-1,)).shape)
    else:
        out["stats"] = summary((k, torch.tensor(np.asarray(v))) for k, v in [
            ("1.running_mean", model.net[1].running_mean),
            ("10.running_var", model.net[10].running_var)])
    return out


# -- the checks ------------------------------------------------------------------------------------

# PyTorch 2.13's numbers for these programs (see the module docstring for how they were run)
PYTORCH = {
    "wd_scratch_0": {
        "train": [
            0.018933946266770363, 0.015507766976952553, 0.013149769976735115, 0.02970837987959385,
            0.010705648921430111, 0.0041881222277879715, 0.004579626955091953,
            0.009515493176877499,
        ],
        "val": [
            [0.03436494246125221], [0.021175852045416832], [0.03417601063847542],
            [0.020410314202308655],
        ],
        "l2": 0.009630062617361546,
        "params": {
            "w": [
                200, -0.3407560064806603, 1.556616055953782, 0.01926012483958553,
                -0.00968730729073286, -0.003065507160499692,
            ],
            "b": [
                1, -7.779902080073953e-05, 7.779902080073953e-05, 6.0526876375539016e-09,
                -7.779902080073953e-05, -7.779902080073953e-05,
            ],
        },
    },
    "wd_scratch_3": {
        "train": [
            0.048513613641262054, 0.04288868606090546, 0.038193587213754654, 0.05179407447576523,
            0.03255431354045868, 0.025747399777173996, 0.02391381934285164, 0.027526114135980606,
        ],
        "val": [
            [0.05314437672495842], [0.04166522994637489], [0.04533524066209793],
            [0.03492441773414612],
        ],
        "l2": 0.005986454896628857,
        "params": {
            "w": [
                200, -0.25328821477887686, 1.2260722599603469, 0.011972910475045919,
                -0.00756755331531167, -0.0028505329973995686,
            ],
            "b": [
                1, 9.56457806751132e-05, 9.56457806751132e-05, 9.148115360951858e-09,
                9.56457806751132e-05, 9.56457806751132e-05,
            ],
        },
    },
    "wd_concise_3": {
        "train": [
            0.5967115163803101, 0.14535604417324066, 0.1629209816455841, 0.08525742590427399,
            0.028102945536375046, 0.013103681616485119, 0.01542164571583271, 0.0051763029769063,
        ],
        "val": [
            [0.3373657166957855], [0.3130633533000946], [0.2668493688106537],
            [0.24440868198871613],
        ],
        "l2": 0.09820286929607391,
        "params": {
            "weight": [
                200, -0.5346467782219406, 5.422647241182858, 0.19640574458810955,
                -0.04704603925347328, 0.04491518437862396,
            ],
            "bias": [
                1, -0.0003153170400764793, 0.0003153170400764793, 9.942483576259206e-08,
                -0.0003153170400764793, -0.0003153170400764793,
            ],
        },
    },
    "dropout_scratch": {
        "train": [
            2.3149423599243164, 1.9726269245147705, 1.3241835832595825, 0.9405952095985413,
            0.22265277802944183, 0.16065743565559387, 0.7234989404678345, 0.4485408663749695,
        ],
        "val": [[0.10578662157058716, 1.0], [0.007853936403989792, 1.0]],
        "params": {
            "lin1.weight": [
                50176, 66.03382228687136, 900.6553322736509, 21.709371374629786,
                -0.01810755394399166, -0.017027532681822777,
            ],
            "lin1.bias": [
                64, 0.27450333116576076, 1.119158131768927, 0.027374935482839625,
                -0.0077176885679364204, 0.02199002541601658,
            ],
            "lin2.weight": [
                2048, -1.9968895700476423, 133.29013955268238, 11.492854346039442,
                -0.12134082615375519, -0.11844608932733536,
            ],
            "lin2.bias": [
                32, 0.4495108446571976, 1.814518086379394, 0.14745070828734447, 0.0898084044456482,
                0.05773811414837837,
            ],
            "lin3.weight": [
                320, -1.4893790564601659, 27.630217778532824, 3.433955079998256,
                -0.10057543218135834, -0.1398942917585373,
            ],
            "lin3.bias": [
                10, 0.09412232041358948, 1.1437256410717964, 0.18694347431268735,
                -0.03443210572004318, 0.09017030149698257,
            ],
        },
    },
    "dropout_concise": {
        "train": [
            2.3593075275421143, 2.0901734828948975, 1.6381880044937134, 1.0252704620361328,
            0.5957396626472473, 0.14202135801315308, 0.5196754336357117, 0.8249334096908569,
        ],
        "val": [[0.11804144084453583, 1.0], [0.018984850496053696, 1.0]],
        "params": {
            "net.1.weight": [
                50176, 53.250138980757924, 899.8574446985161, 21.664748234690286,
                -0.018696246668696404, -0.01664000004529953,
            ],
            "net.1.bias": [
                64, 0.24209509120555595, 1.162787003966514, 0.029880627031580488,
                -0.008857214823365211, 0.023014912381768227,
            ],
            "net.4.weight": [
                2048, -3.0173501799472433, 132.82932347464885, 11.445689502368907,
                -0.12032053619623184, -0.11837945878505707,
            ],
            "net.4.bias": [
                32, 0.440109531104099, 1.7964474491891451, 0.14532988523671847, 0.1035575270652771,
                0.05667540058493614,
            ],
            "net.7.weight": [
                320, -1.4893791872891597, 27.41725145810051, 3.3543256115475955,
                -0.09997034817934036, -0.14125345647335052,
            ],
            "net.7.bias": [
                10, 0.09412229061126709, 1.1913828030228615, 0.21647063452671797,
                -0.039642736315727234, 0.08719925582408905,
            ],
        },
    },
    "bn_scratch": {
        "train": [
            2.350651502609253, 2.041609764099121, 1.427048921585083, 1.6017253398895264,
        ],
        "val": [[2.2931694984436035, 0.25], [2.3527603149414062, 0.25]],
        "params": {
            "net.0.weight": [
                150, -0.6287852014647797, 15.544470613938756, 2.1122058496277716,
                0.13506998121738434, -0.07104441523551941,
            ],
            "net.0.bias": [
                6, -0.08130525099113584, 0.47414787067100406, 0.053700496129148234,
                0.04348292574286461, 0.004883382003754377,
            ],
            "net.1.gamma": [
                6, 6.000044822692871, 6.000044822692871, 6.000120947590467, 1.0028795003890991,
                1.0018925666809082,
            ],
            "net.1.beta": [
                6, -4.5568012865260243e-05, 0.0031265044963220134, 2.795478940808292e-06,
                -0.0009616577299311757, -0.000505623989738524,
            ],
            "net.4.weight": [
                2400, -0.2195635741991282, 98.20384104242476, 5.347051234072664,
                -0.05481352284550667, -0.030792435631155968,
            ],
            "net.4.bias": [
                16, -0.19670434412546456, 0.540587404044345, 0.02420012231541537,
                -0.03203525021672249, 0.04801025986671448,
            ],
            "net.5.gamma": [
                16, 16.001520097255707, 16.001520097255707, 16.003082076044084, 1.003898024559021,
                1.001952052116394,
            ],
            "net.5.beta": [
                16, -0.0005235676289885305, 0.004836660671571735, 2.451630590044963e-06,
                -0.0005515730590559542, -0.0006302101537585258,
            ],
            "net.9.weight": [
                30720, -5.19962429354473, 959.119322899739, 39.97258192288973,
                -0.01897679641842842, 0.034192897379398346,
            ],
            "net.9.bias": [
                120, -0.15804583532735705, 3.829602409619838, 0.15587378382072042,
                -0.03811023011803627, 0.04242585226893425,
            ],
            "net.10.gamma": [
                120, 120.00137209892273, 120.00137209892273, 120.00277986258418, 1.000606656074524,
                1.000169277191162,
            ],
            "net.10.beta": [
                120, -0.0005537610491046507, 0.011562677603706106, 1.8269156624968158e-06,
                0.00014839587674941868, -0.00016020973271224648,
            ],
            "net.12.weight": [
                10080, -1.8486486940914801, 457.76829673493785, 27.788517487205617,
                0.05858554691076279, 0.015923047438263893,
            ],
            "net.12.bias": [
                84, -0.06336785038001835, 4.067862895550206, 0.25042121737368284,
                0.061631884425878525, 0.06226207688450813,
            ],
            "net.13.gamma": [
                84, 84.02494651079178, 84.02494651079178, 84.04993281102747, 0.9990967512130737,
                1.0001344680786133,
            ],
            "net.13.beta": [
                84, 0.022036825685063377, 0.12122440281382296, 0.0002556930215246449,
                0.0009742304682731628, -0.001708925818093121,
            ],
            "net.15.weight": [
                840, 2.528224075183971, 47.52718029150856, 3.6806429442044815,
                -0.09824926406145096, -0.06494277715682983,
            ],
            "net.15.bias": [
                10, -0.03902413975447416, 0.7766268393024802, 0.08565892775379716,
                -0.13707119226455688, 0.07301025837659836,
            ],
        },
        "convs": ['Conv2d', 'Conv2d'],
        "stats": {
            "1.moving_mean": [
                6, -0.15988904237747192, 0.7814045250415802, 0.11400804976323764,
                0.17473991215229034, -0.1586870700120926,
            ],
            "10.moving_var": [
                120, 78.90397202968597, 78.90397202968597, 51.88199406150512, 0.6570219397544861,
                0.6572660207748413,
            ],
        },
        "gamma": [6],
    },
    "bn_concise": {
        "train": [
            2.350651502609253, 2.041609764099121, 1.427048921585083, 1.6017253398895264,
        ],
        "val": [[2.293168544769287, 0.25], [2.352756977081299, 0.25]],
        "params": {
            "net.0.weight": [
                150, -0.6287848412757739, 15.544471163651906, 2.1122059305664944,
                0.13506995141506195, -0.0710444226861,
            ],
            "net.0.bias": [
                6, -0.08130535017699003, 0.47414806205779314, 0.05370053942326256,
                0.04348296299576759, 0.004883346147835255,
            ],
            "net.1.weight": [
                6, 6.000044822692871, 6.000044822692871, 6.000120947590467, 1.0028795003890991,
                1.0018925666809082,
            ],
            "net.1.bias": [
                6, -4.556430212687701e-05, 0.003126496885670349, 2.795465833552233e-06,
                -0.0009616533061489463, -0.0005056218942627311,
            ],
            "net.4.weight": [
                2400, -0.21956284588668495, 98.2038417114527, 5.3470512625770565,
                -0.05481352657079697, -0.030792424455285072,
            ],
            "net.4.bias": [
                16, -0.19670425885124132, 0.5405873392592184, 0.024200122258417486,
                -0.03203528746962547, 0.04801028594374657,
            ],
            "net.5.weight": [
                16, 16.001520216464996, 16.001520216464996, 16.00308231539204, 1.0038981437683105,
                1.001952052116394,
            ],
            "net.5.bias": [
                16, -0.0005235653297859244, 0.004836660446017049, 2.4516279776380916e-06,
                -0.0005515720113180578, -0.0006302107940427959,
            ],
            "net.9.weight": [
                30720, -5.1996308280574794, 959.1193234531622, 39.97258197424237,
                -0.01897680200636387, 0.03419289365410805,
            ],
            "net.9.bias": [
                120, -0.15804589865729213, 3.8296024543233216, 0.1558737875790959,
                -0.03811023756861687, 0.04242584854364395,
            ],
            "net.10.weight": [
                120, 120.00137186050415, 120.00137186050415, 120.00277938528238, 1.000606656074524,
                1.000169277191162,
            ],
            "net.10.bias": [
                120, -0.0005537615090815962, 0.011562679289227162, 1.826915787140987e-06,
                0.00014839555660728365, -0.00016021034389268607,
            ],
            "net.12.weight": [
                10080, -1.8486485759572133, 457.76829661609054, 27.78851746762797,
                0.05858553946018219, 0.015923049300909042,
            ],
            "net.12.bias": [
                84, -0.06336782922153361, 4.0678628883033525, 0.2504212171139906,
                0.061631884425878525, 0.06226207688450813,
            ],
            "net.13.weight": [
                84, 84.02494639158249, 84.02494639158249, 84.04993257256157, 0.9990967512130737,
                1.0001344680786133,
            ],
            "net.13.bias": [
                84, 0.022036820293578785, 0.12122440023085801, 0.0002556930063661994,
                0.0009742299444042146, -0.0017089255852624774,
            ],
            "net.15.weight": [
                840, 2.5282238900690572, 47.52718009140517, 3.680642898914101,
                -0.09824926406145096, -0.06494277715682983,
            ],
            "net.15.bias": [
                10, -0.039024176774546504, 0.7766268246341497, 0.08565892419643095,
                -0.13707119226455688, 0.07301025092601776,
            ],
        },
        "convs": ['Conv2d', 'Conv2d'],
        "stats": {
            "1.running_mean": [
                6, -0.15988902747631073, 0.781404510140419, 0.11400805219275278,
                0.17473992705345154, -0.15868708491325378,
            ],
            "10.running_var": [
                120, 78.91543662548065, 78.91543662548065, 51.89707471352493, 0.6570834517478943,
                0.6573438048362732,
            ],
        },
    },
}


# float32 rounding over a few steps: the largest difference from PyTorch's numbers is 1.1e-5 of
# the scale (the one-element bias of the regression, whose gradients cancel); a sum is scaled
# by the sum of absolute values, a single value by at least the mean absolute value
RTOL = 2e-5


def assert_matches_pytorch(got, want, where):
    if isinstance(want, dict):
        assert list(got) == list(want), where
        for k in want:
            assert_matches_pytorch(got[k], want[k], f"{where}.{k}")
    elif ".params." in where or ".stats." in where:  # [size, sum, sum|x|, sum x², first, last]
        n, _, l1, sq, first, last = want
        assert got[0] == n, where
        scales = (l1, l1, sq, max(abs(first), l1 / n), max(abs(last), l1 / n))
        for i, (g, w, scale) in enumerate(zip(got[1:], want[1:], scales), 1):
            assert abs(g - w) <= RTOL * scale, (f"{where}[{i}]", g, w)
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            assert_matches_pytorch(g, w, f"{where}[{i}]")
    elif isinstance(want, str):
        assert got == want, where
    else:
        assert abs(got - want) <= RTOL * abs(want), (where, got, want)


def test_the_device_helper_chooses_the_cpu():
    assert torch.cuda.is_available() is False and try_gpu() == cpu() and try_gpu(3) == cpu()
    assert repr(gpu(1)) == "device(type='cuda', index=1)"


@pytest.mark.parametrize("lambd", [0, 3])
def test_weight_decay_by_hand(lambd):
    # the chapter's from-scratch model: torch.normal weights, the penalty in the loss, SGD by hand
    got = run_weight_decay_scratch(lambd)
    assert_matches_pytorch(got, PYTORCH[f"wd_scratch_{lambd}"], f"wd_scratch_{lambd}")


def test_weight_decay_shrinks_the_weights():
    # the chapter's point, in PyTorch's numbers: the penalty leaves a smaller ‖w‖ and a lower
    # validation loss on this overfitting problem (20 examples, 200 features)
    plain, decayed = PYTORCH["wd_scratch_0"], PYTORCH["wd_scratch_3"]
    assert decayed["l2"] < plain["l2"]
    assert run_weight_decay_scratch(3)["l2"] < run_weight_decay_scratch(0)["l2"]


def test_weight_decay_through_the_optimizer():
    # the chapter's concise model: LazyLinear, MSELoss, weight_decay on the weight's group only
    got = run_weight_decay_concise(3)
    assert_matches_pytorch(got, PYTORCH["wd_concise_3"], "wd_concise_3")


@pytest.mark.parametrize("name", ["dropout_scratch", "dropout_concise"])
def test_dropout(name):
    # the chapter's MLP with dropout by hand (masks from torch.rand) and with nn.Dropout
    model_class = DropoutMLPScratch if name == "dropout_scratch" else DropoutMLP
    assert_matches_pytorch(run_dropout(model_class), PYTORCH[name], name)


@pytest.mark.parametrize("name", ["bn_scratch", "bn_concise"])
def test_batch_norm_lenet(name):
    # the chapter's BN-LeNet with batch norm by hand and with nn.LazyBatchNorm1d/2d
    model_class = BNLeNetScratch if name == "bn_scratch" else BNLeNet
    assert_matches_pytorch(run_bn_lenet(model_class), PYTORCH[name], name)


def test_the_books_batch_norm_keeping_data_runs_twice_in_eval_mode():
    def batch_norm_2d(X, gamma, beta, moving_mean, moving_var, eps, momentum):
        if not torch.is_grad_enabled():
            X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
        else:
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
            X_hat = (X - mean) / torch.sqrt(var + eps)
            moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
            moving_var = (1.0 - momentum) * moving_var + momentum * var
        return gamma * X_hat + beta, moving_mean.data, moving_var.data

    gamma, beta = nn.Parameter(torch.ones((1, 3))), nn.Parameter(torch.zeros((1, 3)))
    moving_mean, moving_var = torch.zeros((1, 3)), torch.ones((1, 3))
    X = torch.tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3))
    _, moving_mean, moving_var = batch_norm_2d(X, gamma, beta, moving_mean, moving_var, 1e-5,
                                               0.1)
    for _ in range(2):  # two validation batches
        with torch.no_grad():
            assert moving_mean.device == X.device  # the book's check before each call
            _, moving_mean, moving_var = batch_norm_2d(X, gamma, beta, moving_mean,
                                                       moving_var, 1e-5, 0.1)
    # .data is PyTorch's: a tensor cut off from the graph, holding the updated statistics
    assert isinstance(moving_mean, torch.Tensor) and moving_mean.grad_fn is None
    assert not moving_mean.requires_grad and not moving_var.requires_grad
    np.testing.assert_allclose(moving_mean.numpy(), [[0.45, 0.55, 0.65]], rtol=1e-6)
    np.testing.assert_allclose(moving_var.numpy(), [[2.025] * 3], rtol=1e-6)
