"""Every built-in op, one small Function each, grouped by family. Importing this package fills
the operator table that Tensor's operators and methods use."""

from .._tensor import OPS
from .activation import log_softmax, relu, sigmoid, softmax, tanh
from .elementwise import (
                          abs,
                          add,
                          astype,
                          clip,
                          compare,
                          div,
                          exp,
                          log,
                          maximum,
                          minimum,
                          mul,
                          neg,
                          pow,
                          sqrt,
                          sub,
                          where,
)
from .linalg import matmul
from .reduce import logsumexp, max, mean, min, sum, var
from .shape import (
                          broadcast_to,
                          concatenate,
                          expand_dims,
                          getitem,
                          reshape,
                          squeeze,
                          stack,
                          sum_to,
                          transpose,
)

OPS.update(
    add=add, sub=sub, mul=mul, div=div, neg=neg, pow=pow, exp=exp, log=log, sqrt=sqrt, abs=abs,
    maximum=maximum, minimum=minimum, where=where, clip=clip, astype=astype, compare=compare,
    sum=sum, mean=mean, max=max, min=min, var=var, logsumexp=logsumexp,
    reshape=reshape, transpose=transpose, broadcast_to=broadcast_to, sum_to=sum_to,
    squeeze=squeeze, expand_dims=expand_dims, getitem=getitem, matmul=matmul,
    relu=relu, sigmoid=sigmoid, tanh=tanh, softmax=softmax, log_softmax=log_softmax,
)

__all__ = sorted(OPS) + ["concatenate", "stack"]
