"""Tools to compare regularizers: early stopping, Monte-Carlo dropout, sweeps over
configurations and seeds, and their plots (matplotlib, imported only by the plot functions).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from ._tensor import Tensor
from .autograd import no_grad


class EarlyStopping:
    """Stop training when a monitored metric has stopped improving.

    ``stopper.step(metric, model)`` after each epoch returns True when training should stop:
    once ``patience`` epochs in a row brought no improvement (Keras's and Lightning's count:
    with patience 2, the second epoch after the best one stops). An improvement must beat the
    best value by more than ``min_delta`` (``mode="min"``: a loss; ``"max"``: an accuracy).
    With ``restore_best`` (the default), the model's state at its best epoch is kept (a copy
    of its ``state_dict``) and loaded back when it stops, bitwise; :meth:`restore` loads it on
    demand.

    Attributes: ``best`` (the best value), ``best_epoch`` (0-based count of ``step`` calls),
    ``wait`` (epochs since the best), ``stopped_epoch`` (None until it stops).
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, mode: str = "min",
                 restore_best: bool = True) -> None:
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or \
                patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float, np.number)) \
                or not math.isfinite(float(min_delta)) or min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be a finite number >= 0, got "
                             f"{min_delta!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best = bool(restore_best)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.epoch = -1
        self.stopped_epoch: int | None = None
        self._best_state: dict | None = None

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, metric: Any, model: Any = None) -> bool:
        """Record this epoch's ``metric`` (a number or a one-element Tensor); True = stop."""
        value = float(metric.item() if isinstance(metric, Tensor) else metric)
        if math.isnan(value):
            raise ValueError("EarlyStopping.step: the metric is NaN")
        if self.restore_best and model is None:
            raise ValueError("EarlyStopping.step: pass the model (restore_best=True keeps a "
                             "copy of its best weights), or create it with restore_best=False")
        self.epoch += 1
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, self.epoch, 0
            if self.restore_best:
                self._best_state = model.state_dict()  # copies
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = self.epoch
            if self.restore_best:
                self.restore(model)
            return True
        return False

    def restore(self, model: Any) -> None:
        """Load the weights of the best epoch into ``model``."""
        if self._best_state is None:
            raise RuntimeError("EarlyStopping.restore: no best state kept yet (call step with "
                               "the model, restore_best=True)")
        model.load_state_dict(self._best_state)

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "epoch": self.epoch, "stopped_epoch": self.stopped_epoch}


def _noise_layers(model: Any) -> list:
    return [m for m in model.modules() if getattr(m, "is_dropout", False)]


def mc_dropout_predict(model: Any, x: Any, n_samples: int = 50,
                       generator: np.random.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Monte-Carlo dropout (Gal and Ghahramani 2016): the mean and the standard deviation
    (over samples, ddof=0) of ``n_samples`` forward passes of ``model`` on ``x`` with every
    dropout-type layer (Dropout, Dropout1d/2d, AlphaDropout, GaussianDropout, GaussianNoise,
    DropConnectLinear: modules with ``is_dropout = True``) sampling, and everything else in
    eval mode (BatchNorm uses its running statistics). Masks are drawn from ``generator``
    when given (else each layer's own generator or the package one). No graph is recorded;
    the model's train/eval modes are restored afterwards."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or \
            n_samples < 1:
        raise ValueError(f"mc_dropout_predict: n_samples must be an int >= 1, got "
                         f"{n_samples!r}")
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(f"mc_dropout_predict: generator must be a numpy.random.Generator, "
                        f"got {type(generator).__name__}")
    layers = _noise_layers(model)
    if not layers:
        raise ValueError(f"mc_dropout_predict: {type(model).__name__} has no dropout-type "
                         f"layer: every sample would be the same")
    modes = [(m, m.training) for m in model.modules()]
    gens = [(m, m.generator) for m in layers if hasattr(m, "generator")]
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    try:
        model.eval()
        for m in layers:
            m.training = True
            if generator is not None and hasattr(m, "generator"):
                m.generator = generator
        with no_grad():
            first = np.asarray(model(x)._data, dtype=np.float64)
            total = first.copy()
            total_sq = first * first
            for _ in range(n_samples - 1):
                y = np.asarray(model(x)._data, dtype=np.float64)
                total += y
                total_sq += y * y
    finally:
        for m, mode in modes:
            m.training = mode
        for m, g in gens:
            m.generator = g
    mean = total / n_samples
    var = np.maximum(total_sq / n_samples - mean * mean, 0.0)
    dtype = first.dtype if x._data.dtype.kind != "f" else x._data.dtype
    return Tensor(mean.astype(dtype)), Tensor(np.sqrt(var).astype(dtype))


def _configs(grid: Any) -> list[dict]:
    if isinstance(grid, Mapping):
        names = list(grid)
        values = []
        for k in names:
            v = grid[k]
            if isinstance(v, (str, bytes)) or not isinstance(v, Iterable):
                raise TypeError(f"sweep: grid[{k!r}] must be a list of values, got "
                                f"{type(v).__name__}")
            values.append(list(v))
        return [dict(zip(names, combo)) for combo in itertools.product(*values)]
    configs = list(grid)
    if not all(isinstance(c, Mapping) for c in configs):
        raise TypeError("sweep: grid must be a dict name -> list of values, or a list of "
                        "dicts (one configuration each)")
    return [dict(c) for c in configs]


def sweep(train_fn: Callable[..., Mapping], grid: Any, seeds: Iterable[int] = (0,), *,
          progress: bool = True) -> list[dict]:
    """Run ``train_fn(**config, seed=seed)`` for every configuration of ``grid`` and every
    seed, with a tqdm progress bar when tqdm is installed (``progress=False``: none) that
    shows the numbers the last run returned.

    ``grid``: a dict name -> list of values (every combination is run) or a list of dicts.
    ``train_fn`` returns a mapping of results (numbers, lists such as a loss history...).
    Returns one record per run: ``{**config, "seed": seed, **results}``, in order."""
    configs = _configs(grid)
    seeds = list(seeds)
    if not configs or not seeds:
        raise ValueError("sweep: nothing to run (an empty grid or no seeds)")
    runs = [(c, s) for c in configs for s in seeds]
    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(runs), unit="run")
        except ImportError:
            bar = None
    records = []
    try:
        for config, seed in runs:
            if bar is not None:
                bar.set_description(", ".join(f"{k}={v}" for k, v in config.items())
                                    + f", seed {seed}")
            result = train_fn(**config, seed=seed)
            if not isinstance(result, Mapping):
                raise TypeError(f"sweep: train_fn must return a mapping of results, got "
                                f"{type(result).__name__}")
            records.append({**config, "seed": seed, **result})
            if bar is not None:  # the run's numbers (accuracies, losses) beside the bar
                shown = {k: f"{v:.4g}" for k, v in result.items()
                         if isinstance(v, (int, float)) and not isinstance(v, bool)}
                bar.set_postfix(shown, refresh=False)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return records


def summarize(records: list[dict], by: str | list[str], metric: str) -> list[dict]:
    """Group ``records`` by the key(s) ``by`` and give the mean, std (ddof=1, 0 for one run)
    and count of ``metric`` in each group, in first-seen order."""
    keys = [by] if isinstance(by, str) else list(by)
    groups: dict[tuple, list[float]] = {}
    for r in records:
        groups.setdefault(tuple(r[k] for k in keys), []).append(float(r[metric]))
    out = []
    for key, vals in groups.items():
        std = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
        out.append({**dict(zip(keys, key)), "mean": float(np.mean(vals)), "std": std,
                    "n": len(vals)})
    return out


def _axes(ax: Any):
    import matplotlib

    if ax is None:
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        return fig, ax
    return ax.figure, ax


def plot_sweep(records: list[dict], x: str, y: str, *, hue: str | None = None,
               ax: Any = None, path: Any = None, logx: bool = False) -> Any:
    """A validation curve: ``y`` (mean ± std over seeds) against the swept parameter ``x``,
    one line per value of ``hue``. Saves to ``path`` when given; returns the figure."""
    fig, ax = _axes(ax)
    hues = [None] if hue is None else list(dict.fromkeys(r[hue] for r in records))
    for h in hues:
        rows = [r for r in records if hue is None or r[hue] == h]
        stats = sorted(summarize(rows, x, y), key=lambda s: s[x])
        xs = np.array([s[x] for s in stats], dtype=float)
        mean = np.array([s["mean"] for s in stats])
        std = np.array([s["std"] for s in stats])
        label = y if hue is None else f"{hue}={h}"
        ax.plot(xs, mean, marker="o", label=label)
        ax.fill_between(xs, mean - std, mean + std, alpha=0.2)
    if logx:
        ax.set_xscale("symlog", linthresh=min((abs(r[x]) for r in records if r[x]), default=1))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend()
    if path is not None:
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    return fig


def plot_curves(history: Mapping[str, list[float]], *, keys: tuple = ("train_loss", "val_loss"),
                ax: Any = None, path: Any = None, title: str | None = None) -> Any:
    """Train-vs-validation curves: each of ``keys`` in ``history`` (a dict name -> one value
    per epoch) against the epoch. Saves to ``path`` when given; returns the figure."""
    fig, ax = _axes(ax)
    for k in keys:
        if k not in history:
            raise KeyError(f"plot_curves: history has no {k!r} (it has {sorted(history)})")
        ax.plot(range(1, len(history[k]) + 1), history[k], label=k)
    ax.set_xlabel("epoch")
    ax.legend()
    if title:
        ax.set_title(title)
    if path is not None:
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    return fig


__all__ = ["EarlyStopping", "mc_dropout_predict", "sweep", "summarize", "plot_sweep",
           "plot_curves"]
