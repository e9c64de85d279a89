"""Automatic differentiation: the op contract (:mod:`.function`), the engine (:mod:`.engine`)
and the per-thread modes (:mod:`.modes`), with anomaly mode's checks (:mod:`.anomaly`)."""

from .engine import backward, grad, iter_graph
from .function import Context, Function, OnceDifferentiable, Released, wrap
from .modes import (
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    module_scope,
    no_grad,
    set_anomaly_enabled,
    set_grad_enabled,
)

__all__ = ["Function", "Context", "backward", "grad", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "detect_anomaly", "set_anomaly_enabled",
           "is_anomaly_enabled", "module_scope", "iter_graph", "wrap", "Released",
           "OnceDifferentiable"]
