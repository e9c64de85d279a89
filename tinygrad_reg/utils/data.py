"""``tinygrad_reg.utils.data``: PyTorch's import path (``torch.utils.data``) for the objects of
:mod:`tinygrad_reg.data` — the same classes and functions, not copies, so
``tinygrad_reg.utils.data.DataLoader is tinygrad_reg.data.DataLoader``."""

from ..data import (
    DataLoader,
    Dataset,
    TensorDataset,
    WorkerInfo,
    batches,
    default_collate,
    get_worker_info,
)

__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate", "get_worker_info",
           "WorkerInfo", "batches"]
