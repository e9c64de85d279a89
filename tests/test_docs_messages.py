"""Error messages that README.md and docs/*.md quote in their prose are the messages the code
gives.

A quoted message is an inline code span that reads as a sentence (four or more words, most
of them words) or starts with an exception's name (``ValueError: ...``). Each one must be
listed in :data:`MESSAGES` with a few lines that raise it, or, for a text the code writes
that is not an error (a label in a graph picture), in :data:`TEXTS` with a few lines that
return what the code writes; the pieces of the quote between ``...`` (a part left out, as
debugging.md says) must appear in the message, in order, spaces and line breaks aside.
Pasted output blocks are compared whole by tests/test_docs.py; these are the short quotes
inside sentences and tables.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import tinygrad_reg as tg
from tinygrad_reg import nn

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```[^\n`]*\n.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
_WORD = re.compile(r"^[(\"']?[A-Za-z][a-z]+[.,;:)\"']*$")
_COMMAND = re.compile(r"(python|pip|apt-get|brew|conda|mkdocs|git|pytest)\s")


def is_message(span: str) -> bool:
    words = span.split()
    if re.match(r"\w+(Error|Warning|Exception): ", span):
        return True
    if len(words) < 4 or _COMMAND.match(span):
        return False
    return sum(bool(_WORD.match(w)) for w in words) >= max(4, len(words) / 2)


def quoted_messages(page: Path) -> list[tuple[int, str]]:
    """(line, the quote with its whitespace collapsed) of each quoted message on ``page``."""
    text = _FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), page.read_text("utf-8"))
    out = []
    for m in re.finditer(r"`([^`\n]+(?:\n[^`\n]+)?)`", text):
        span = " ".join(m.group(1).split())
        if is_message(span):
            out.append((text.count("\n", 0, m.start()) + 1, span))
    return out


def matches(quote: str, message: str) -> bool:
    """Whether the pieces of ``quote`` between "..." appear in ``message`` in order."""
    message = " ".join(message.split())
    at = 0
    for piece in re.split(r"\.\.\.|…", quote):
        piece = piece.strip()
        if not piece:
            continue
        found = message.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


def raised(fn: Callable[[], object]) -> str:
    """``Type: message`` of what ``fn`` raises (or the warnings it gives)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn()
        except Exception as err:  # noqa: BLE001 - the message is what is checked
            return f"{type(err).__name__}: {err}"
    if caught:
        return "\n".join(f"{w.category.__name__}: {w.message}" for w in caught)
    raise AssertionError("nothing was raised")


# -- the triggers ----------------------------------------------------------------------------

def _saved_product():
    x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    c = tg.Tensor(np.array([3.0, 4.0]))
    return x, c, (x * c).sum()


def read_only_write():
    _, c, _ = _saved_product()
    c.numpy()[0] = 0.0


def counted_write():
    _, c, y = _saved_product()
    c.fill_(0.0)
    y.backward()


def write_through_data():
    _, c, y = _saved_product()
    c.data[0] = 5.0
    y.backward()


def new_array():
    x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    x.data = np.array([5.0, 6.0])
    tg.grad(y, x, create_graph=True)


def jit_calls(fn, *args, n=3):
    for _ in range(n):
        fn(*args)


def jit_item():
    lin = nn.Linear(3, 1)
    jit_calls(tg.jit(lambda x: x * lin(x).sum().item()), tg.ones(2, 3))


def jit_binds():
    w = tg.ones(4, 3, requires_grad=True)
    opt = tg.optim.SGD([w], lr=0.1)
    coef = [0.5]

    def step(x):
        opt.zero_grad()
        (w * x).sum().backward()
        w.grad.mul_(coef[0])   # a number from Python that halves on each call
        coef[0] /= 2
        opt.step()
        return w.grad

    jit_calls(tg.jit(step), tg.ones(4, 3))


def jit_made_outside():
    def f(x):
        return x * tg.tensor(np.abs(x.numpy()))

    j = tg.jit(f)
    for v in (-1.0, 0.0, 1.0):
        j(tg.tensor(np.full((4, 3), v, dtype=np.float32)))


def jit_attribute():
    k = [1.0]

    def f(x):
        k[0] += 1
        return x ** k[0]

    jit_calls(tg.jit(f), tg.ones(3))


def jit_other_kernels():
    n = [0]

    def f(x):
        n[0] += 1
        return x.exp() if n[0] == 1 else x.sin()

    jit_calls(tg.jit(f), tg.ones(3))


def jit_wired_differently():
    n = [0]

    def f(x):
        n[0] += 1
        a, b = x * 2, x * 3
        return (a if n[0] % 2 else b) + 1

    jit_calls(tg.jit(f), tg.ones(3))


def jit_kernel_then_not():
    n = [0]

    def f(x):
        n[0] += 1
        a, b = x * 2, tg.tensor(np.full(3, 2.0, dtype=np.float32))
        return (a if n[0] == 1 else b) + 1

    jit_calls(tg.jit(f), tg.ones(3))


def jit_accumulates():
    lin = nn.Linear(4, 1)

    def f(x):
        lin(x).sum().backward()
        return lin.weight.grad

    jit_calls(tg.jit(f), tg.ones(2, 4))


def jit_grad_set():
    lin = nn.Linear(4, 1)
    opt = tg.optim.SGD(lin.parameters(), lr=0.1)

    def f(x):
        opt.zero_grad()
        loss = lin(x).sum()
        loss.backward()
        lin.bias.grad = tg.zeros(1)
        opt.step()
        return loss

    jit_calls(tg.jit(f), tg.ones(2, 4))


def jit_no_grad_to_zero():
    lin = nn.Linear(4, 1)
    opt = tg.optim.SGD(lin.parameters(), lr=0.1)

    def f(x):
        opt.zero_grad(set_to_none=False)
        loss = lin(x).sum()
        loss.backward()
        opt.step()
        return loss

    j = tg.jit(f)
    jit_calls(j, tg.ones(2, 4), n=4)
    lin.weight.grad = None
    j(tg.ones(2, 4))


def jit_returns_a_list():
    tg.jit(lambda x: [x * 2])(tg.ones(3))


def jit_array_argument():
    tg.jit(lambda x: x * 2)(np.ones(2))


def jit_check():
    n = [0]

    def f(x):
        n[0] += 1
        return x * (2.0 if n[0] < 4 else 3.0)

    jit_calls(tg.jit(f, check=3), tg.ones(3), n=6)


def jit_traced_again():
    model = nn.Linear(3, 1)
    j = tg.jit(lambda x: model(x))
    for i in range(12):
        if i % 2 == 0 and i > 0:
            model.weight = nn.Parameter(np.zeros((1, 3), dtype=np.float32))
        j(tg.ones(2, 3))


def _bad_op(forward, backward=lambda ctx, grad: grad * 2):
    return type("Op", (tg.Function,), {"forward": staticmethod(forward),
                                       "backward": staticmethod(backward)})


def check_op_mutating_backward():
    from tinygrad_reg.testing import check_op
    from tinygrad_reg.testing import strategies as S

    def forward(ctx, x):
        ctx.x = x
        return x * 2

    def backward(ctx, grad):
        ctx.x *= 0
        return grad * 2

    check_op(_bad_op(forward, backward), S.tensors(), ref=lambda x: x * 2, name="Op")


def check_op_alias():
    from tinygrad_reg.testing import check_op
    from tinygrad_reg.testing import strategies as S

    check_op(_bad_op(lambda ctx, x: x, lambda ctx, grad: grad), S.tensors(), ref=lambda x: x,
             name="Op")


def check_op_shape():
    from tinygrad_reg.testing import check_op
    from tinygrad_reg.testing import strategies as S

    check_op(_bad_op(lambda ctx, x: x * 2), S.tensors(shape=(3,)),
             ref=lambda x: np.stack([x * 2, x * 2]), name="Op")


MESSAGES: dict[str, Callable[[], object]] = {
    # concepts.md, debugging.md: in-place changes and saved values
    "ValueError: assignment destination is read-only": read_only_write,
    "RuntimeError: Mul: one of the values it saved for backward, its input 1 ... was modified "
    "by an in-place operation after it was saved: it is at version 1, expected version 0":
        counted_write,
    "a write through .data counts as an in-place operation": write_through_data,
    "RuntimeError: Mul: its input 0 (shape (2,)) was given a new array (t.data = ...) after "
    "this op saved it": new_array,
    "RuntimeError: add_: more than one element of the written-to tensor ... refers to a single "
    "memory location": lambda: tg.zeros(1, 3).expand(4, 3).add_(tg.ones(4, 3)),
    "RuntimeError: fill_: a leaf tensor that requires grad ... cannot be changed in place while "
    "grad mode is on": lambda: tg.zeros(3, requires_grad=True).fill_(1.0),
    "RuntimeError: fill_: in-place operations on a tensor that requires grad are not recorded":
        lambda: (tg.zeros(3, requires_grad=True) * 2).fill_(1.0),
    # debugging.md: tg.jit
    "Tensor.item() reads a Python value from a tensor (shape (), the result of Sum) inside the "
    "jitted function": jit_item,
    "mul_ (inplace) (kernel 5) binds 0.5 in one call and 0.25 in the next": jit_binds,
    "Mul's input 1 (shape (4, 3)) changed between two calls but was made outside the recorded "
    "kernels": jit_made_outside,
    "Pow (kernel 0) has attribute exponent=2.0 in one call and 3.0 in the next": jit_attribute,
    "the second call ran other kernels than the first (kernel 0: Exp then Sin)":
        jit_other_kernels,
    "... comes from different kernels in two traces": jit_wired_differently,
    "... was computed by a kernel in one trace and not in the next": jit_kernel_then_not,
    "backward adds to the .grad (shape (1, 4)) left by an earlier call": jit_accumulates,
    "the .grad of a leaf (shape ...) was set outside the recorded kernels": jit_grad_set,
    "a parameter of shape ... has no .grad to zero": jit_no_grad_to_zero,
    "the function must return a Tensor or a tuple of Tensors (return the loss, not "
    "loss.item())": jit_returns_a_list,
    "argument 0 is a ndarray; a jitted function takes Tensors and numbers": jit_array_argument,
    "check: the replay differs from eager in output 0": jit_check,
    "traced again 3 times because a module attribute or a Tensor's array it reads was assigned "
    "anew": jit_traced_again,
    # debugging.md: indexing, lookups and bounds
    "embedding: index -1 is out of range for a table of 4 rows (num_embeddings)":
        lambda: tg.nn.functional.embedding(tg.tensor([-1]), tg.randn(4, 2)),
    "getitem: a boolean mask of shape (2,) does not match the indexed dim 0 of shape (10,)":
        lambda: tg.randn(10, 3)[tg.tensor([True, False])],
    "clamp: give min, max or both": lambda: tg.randn(3).clamp(),
    # extending.md: what check_op's other checks say
    "input 0 was changed in place by backward": check_op_mutating_backward,
    "output 0 shares memory with input 0": check_op_alias,
    "output 0 has shape (3,), ref gives (2, 3)": check_op_shape,
}


# -- texts that are not errors --------------------------------------------------------------

def tied_parameter_dot() -> str:
    """A head tied to an embedding (``head.weight = emb.weight``), drawn: the node of the one
    tensor carries both names and says it is tied."""
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3)
            self.head = nn.Linear(3, 5, bias=False)
            self.head.weight = self.emb.weight

        def forward(self, idx):
            return self.head(self.emb(idx))

    model = Tied()
    loss = model(tg.tensor([0, 1])).sum()
    loss.backward()
    return tg.viz.to_dot(loss, params=model)


TEXTS: dict[str, Callable[[], str]] = {
    # visualization.md: the label of a parameter tied under two names
    "tied: one tensor, 2 names": tied_parameter_dot,
}


def test_the_detector_and_the_matcher():
    assert is_message("ValueError: assignment destination is read-only")
    assert is_message("mul_ (inplace) (kernel 5) binds 0.5 in one call and 0.25 in the next")
    for code in ("x.expand(4, 3).clone().add_(rows)", "if (x > 0).any():", "log 2 ≈ 0.693",
                 "W ← W - lr · wd · W", 'pip install -e ".[docs]" && mkdocs build --strict',
                 "forward(ctx, *arrays, **attrs) -> ndarray"):
        assert not is_message(code), code
    assert matches("a ... c d", "a b c  d e") and not matches("c ... a", "a b c")
    assert not matches("a b", "a c b")


def test_every_quoted_message_is_checked():
    unknown = [f"{p.relative_to(ROOT)}:{line}: {q}" for p in PAGES for line, q in
               quoted_messages(p) if q not in MESSAGES and q not in TEXTS]
    assert not unknown, ("quoted messages with nothing that raises them (add each to "
                         "MESSAGES in tests/test_docs_messages.py, or to TEXTS if it is not "
                         "an error):\n" + "\n".join(unknown))
    assert not set(MESSAGES) & set(TEXTS)
    quoted = {q for p in PAGES for _, q in quoted_messages(p)}
    listed = set(MESSAGES) | set(TEXTS)
    assert not listed - quoted, f"no page quotes {listed - quoted}"


@pytest.mark.parametrize("quote", list(MESSAGES), ids=lambda q: q[:40])
def test_the_quoted_message_is_the_message(quote):
    tg.manual_seed(0)
    message = raised(MESSAGES[quote])
    assert matches(quote, message), f"the docs quote\n  {quote}\nbut the code says\n  {message}"


@pytest.mark.parametrize("quote", list(TEXTS), ids=lambda q: q[:40])
def test_the_quoted_text_is_what_the_code_writes(quote):
    tg.manual_seed(0)
    text = TEXTS[quote]()
    assert matches(quote, text), f"the docs quote\n  {quote}\nbut the code writes\n  {text}"
