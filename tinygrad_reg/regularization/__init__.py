"""Regularization as graph ops: every regularizer is a named node of the graph, so a rendered
graph shows where it acts, and its formula and gradient are in its docstring.

- noise (:mod:`.noise`): ``dropout`` (``p`` or the tutorial's ``keep_prob``), ``dropout1d``,
  ``dropout2d``, ``drop_connect``, ``gaussian_dropout``, ``alpha_dropout``,
  ``gaussian_noise``; identities when ``training=False``;
- penalties (:mod:`.penalties`): ``l2_penalty``, ``l1_penalty``, ``elastic_net_penalty`` on
  weights (a Module's weights skip biases and normalization parameters), ``activity_l1``,
  ``activity_l2`` on activations;
- sequence regularizers (:mod:`.sequence`): ``locked_dropout`` (variational dropout),
  ``embedding_dropout``, ``weight_drop`` (AWD-LSTM's DropConnect on ``weight_hh``),
  ``zoneout``, ``drop_path`` (stochastic depth);
- the max-norm constraint ``max_norm_`` (:mod:`.constraints`), applied after a step;
- ``penalty_breakdown(loss)`` (:mod:`.breakdown`): the loss split into its penalty nodes and
  the data term.

Conventions, side by side (W ranges over the weight matrices, m is the batch size):

=====================================  =====================================================
the tutorial's cost ``J + λ/(2m)·ΣW²``  ``loss + l2_penalty(model, lam=λ/m)``
PyTorch ``SGD(weight_decay=wd)``        ``l2_penalty(params, lam=wd)``: both add ``wd·W`` to
                                        the gradient, so the trajectories are identical
PyTorch ``Adam(weight_decay=wd)``       also ``l2_penalty(params, lam=wd)`` (coupled: the
                                        ``wd·W`` term is rescaled by Adam like the rest of
                                        the gradient) — which is why it is not weight decay
PyTorch ``AdamW(weight_decay=wd)``      no penalty equals it: W shrinks by ``lr·wd·W``
                                        outside Adam's rescaling (decoupled decay)
Keras ``regularizers.l2(x)`` = x·ΣW²    ``l2_penalty(params, lam=2·x)`` (Keras has no ½)
Keras ``regularizers.l1(x)`` = x·Σ|W|   ``l1_penalty(params, lam=x)``
=====================================  =====================================================
"""

from typing import Any

from . import penalties
from .breakdown import penalty_breakdown
from .constraints import max_norm_
from .noise import (
    ALPHA_PRIME,
    AlphaDropout,
    DropConnect,
    Dropout,
    Dropout1d,
    Dropout2d,
    GaussianDropout,
    GaussianNoise,
    alpha_dropout,
    drop_connect,
    drop_probability,
    dropout,
    dropout1d,
    dropout2d,
    gaussian_dropout,
    gaussian_noise,
)
from .penalties import (
    ActivityL1,
    ActivityL2,
    ElasticNetPenalty,
    L1Penalty,
    L2Penalty,
    activity_l1,
    activity_l2,
    elastic_net_penalty,
    l1_penalty,
    l2_penalty,
    penalized_parameters,
)
from .sequence import (
    DropPath,
    EmbeddingDropout,
    LockedDropout,
    WeightDrop,
    Zoneout,
    drop_path,
    embedding_dropout,
    locked_dropout,
    weight_drop,
    zoneout,
)


def __getattr__(name: str) -> Any:
    # PENALTY_OPS: read off the op classes' kinds when asked (see .penalties)
    if name == "PENALTY_OPS":
        return penalties.PENALTY_OPS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Dropout", "Dropout1d", "Dropout2d", "DropConnect", "GaussianDropout",
           "AlphaDropout", "GaussianNoise", "L1Penalty", "L2Penalty", "ElasticNetPenalty",
           "ActivityL1", "ActivityL2", "PENALTY_OPS", "ALPHA_PRIME", "dropout", "dropout1d",
           "dropout2d", "drop_connect", "gaussian_dropout", "alpha_dropout", "gaussian_noise",
           "l1_penalty", "l2_penalty", "elastic_net_penalty", "activity_l1", "activity_l2",
           "penalized_parameters", "max_norm_", "penalty_breakdown", "drop_probability",
           "LockedDropout", "EmbeddingDropout", "WeightDrop", "DropPath", "Zoneout",
           "locked_dropout", "embedding_dropout", "weight_drop", "drop_path", "zoneout"]
