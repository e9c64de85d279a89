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
from .inplace import (
                          add_,
                          clamp_,
                          copy_,
                          div_,
                          fill_,
                          iadd,
                          imul,
                          isub,
                          itruediv,
                          masked_fill_,
                          mul_,
                          normal_,
                          setitem,
                          sub_,
                          uniform_,
                          zero_,
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
    fill_=fill_, zero_=zero_, copy_=copy_, add_=add_, sub_=sub_, mul_=mul_, div_=div_,
    clamp_=clamp_, masked_fill_=masked_fill_, setitem=setitem, uniform_=uniform_,
    normal_=normal_, iadd=iadd, isub=isub, imul=imul, itruediv=itruediv,
)

__all__ = sorted(OPS) + ["concatenate", "stack"]
