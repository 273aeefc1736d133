"""Formula recovery for learned 1-D functions (phi*, psi*) by sparse regression.

Allier et al. (2026) use PySR, which needs Julia; offline we fit a fixed library of candidate
terms (1, x, tanh(x / gamma)) and keep the smallest subset of terms that explains the learned
curve (sparse identification in the spirit of SINDy, Brunton et al. 2016).
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Term:
    """One library term: its printed ``name`` and ``fn`` mapping a float64 tensor x to its values."""

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]


def _tanh_name(gamma: float) -> str:
    if gamma == 1:
        return "tanh(x)"
    inv = 1.0 / gamma
    return f"tanh({inv:g}x)" if gamma < 1 and inv == round(inv) else f"tanh(x/{gamma:g})"


def default_library(gammas=(0.125, 0.25, 0.5, 1, 2, 4, 8)) -> list[Term]:
    """Terms ``1``, ``x`` and ``tanh(x / gamma)`` for each width gamma (> 0, distinct): enough for
    the paper's phi(x) = -x / tau + s tanh(x) and psi(x) = tanh(x / gamma) - theta x."""
    gammas = [float(g) for g in gammas]
    if any(not g > 0 for g in gammas) or len(set(gammas)) != len(gammas):
        raise ValueError(f"gammas must be distinct positive widths, got {gammas}.")
    terms = [Term("1", torch.ones_like), Term("x", lambda x: x)]
    return terms + [Term(_tanh_name(g), lambda x, g=g: torch.tanh(x / g)) for g in gammas]


def _lstsq(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # unit-norm columns keep the (collinear) tanh library well conditioned
    norms = a.norm(dim=0)
    return torch.linalg.lstsq(a / norms, y[:, None], driver="gelsd").solution[:, 0] / norms


def sparse_regression(x, y, library: list[Term], max_terms: int = 3, tol: float = 1e-3) -> dict[str, float]:
    """Sparse fit ``y ~ sum_k coef_k term_k(x)`` by best-subset selection.

    x, y: ``[M]`` samples. Every subset of at most ``max_terms`` library terms is fitted by least
    squares (a 9-term library and 3 terms is 129 small fits); the answer is the smallest subset
    whose relative residual ``||y - fit|| / ||y||`` is within ``tol`` of the best over all subsets.
    Exhaustive search, unlike thresholded least squares, is not fooled by the near-collinear tanh
    widths of the library. Returns ``{name: coef}`` in library order.
    """
    x = torch.as_tensor(x).detach().cpu().to(torch.float64)
    y = torch.as_tensor(y).detach().cpu().to(torch.float64)
    if x.dim() != 1 or x.shape != y.shape or len(x) < 2:
        raise ValueError(f"x and y must be 1-D samples of one length >= 2, got shapes {tuple(x.shape)} "
                         f"and {tuple(y.shape)}.")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("x or y contain NaN or inf.")
    if not library or len({t.name for t in library}) != len(library):
        raise ValueError("library must be a non-empty list of terms with distinct names, e.g. default_library().")
    if not 1 <= max_terms <= len(library) or tol < 0:
        raise ValueError(f"max_terms must lie in 1..{len(library)} and tol be >= 0, got {max_terms} and {tol}.")
    a = torch.stack([t.fn(x) for t in library], 1)
    if not torch.isfinite(a).all():
        raise ValueError("a library term is NaN or inf on these x; restrict x or the library.")
    scale = max(float(y.norm()), 1e-300)
    best = {}                                              # size -> (relative error, subset, coefficients)
    for size in range(1, max_terms + 1):
        for subset in itertools.combinations(range(len(library)), size):
            coef = _lstsq(a[:, subset], y)
            err = float((y - a[:, subset] @ coef).norm()) / scale
            if size not in best or err < best[size][0]:
                best[size] = (err, subset, coef)
    floor = min(err for err, _, _ in best.values())
    err, subset, coef = next(best[k] for k in sorted(best) if best[k][0] <= floor + tol)
    return {library[i].name: float(c) for i, c in zip(subset, coef)}


def format_formula(coefs: dict[str, float], digits: int = 3) -> str:
    """``{"x": -1.998, "tanh(x)": 1.0}`` -> ``"-1.998 x + 1.000 tanh(x)"``; the term ``"1"`` prints
    as its bare coefficient and an empty fit as ``"0"``."""
    parts = []
    for name, c in coefs.items():
        body = f"{abs(c):.{digits}f}" + ("" if name == "1" else f" {name}")
        sign = ("-" if c < 0 else "") if not parts else (" - " if c < 0 else " + ")
        parts.append(sign + body)
    return "".join(parts) or "0"
