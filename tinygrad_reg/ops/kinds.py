"""The ``kind`` facet of an op class (see :class:`~tinygrad_reg.autograd.Function`): which
ops are regularizers, penalties or losses, read off the classes themselves, so that a
drawing's colours and ``penalty_breakdown`` know a user's op as well as a built-in one."""

from __future__ import annotations

from ..autograd import Function

#: The kinds an op class may declare, besides None (a plain op): noise that regularizes, a
#: penalty added to the loss, a loss.
KINDS = ("regularization", "penalty", "loss")


def ops_of_kind(*kinds: str) -> tuple[type, ...]:
    """Every op class defined so far, built-in or a user's, whose ``kind`` is one of
    ``kinds`` (a subclass inherits its parent's unless it says otherwise), ordered by name
    and module."""
    found, seen, stack = [], set(), [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
                if sub.kind in kinds:
                    found.append(sub)
    return tuple(sorted(found, key=lambda c: (c.__name__, c.__module__)))


__all__ = ["KINDS", "ops_of_kind"]
