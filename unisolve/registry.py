"""Method registry: ``@method("name", kinds=(...))`` and :func:`methods`.

A method is a plain function ``f(problem, *, option=default, ...) -> Result``.
Its keyword-only parameters are the options it accepts; ``solve`` checks the
user's options against them and raises a ``TypeError`` that lists them.
Methods whose modules are heavy (torch, petsc4py) are registered lazily by
module path and imported on first use.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MethodDoc", "MethodInfo", "MethodSpec", "describe", "get_method", "method",
           "methods"]

#: Options every method understands (a method that has no use for one ignores it).
COMMON_OPTIONS = ("rtol", "atol", "maxiter", "x0", "callback", "seed")


@dataclass(frozen=True)
class MethodSpec:
    """A registered method: its function, problem kinds and accepted options."""

    name: str
    func: Callable
    kinds: tuple
    description: str
    options: tuple
    defaults: dict
    matrix: str = ""

    @property
    def sequence_options(self) -> dict:
        """Options only a sequence gives a use to, ``{name: validator}``.

        A method's ``solve_sequence`` hook declares them by setting the function's
        ``sequence_options`` attribute (e.g. ``reuse`` for ``pcg``). They are
        accepted and validated on a single problem too, where they change nothing.
        """
        return getattr(self.func, "sequence_options", {})

    def check_options(self, options: dict) -> None:
        """Raise ``TypeError`` naming any option this method does not accept.

        Values of the :attr:`sequence_options` are checked by their validators.
        """
        extra = self.sequence_options
        unknown = [k for k in options
                   if k not in self.options and k not in COMMON_OPTIONS and k not in extra]
        if unknown:
            accepted = ", ".join(sorted(set(self.options) | set(COMMON_OPTIONS) | set(extra)))
            raise TypeError(
                f"method {self.name!r} got unknown option(s) {', '.join(map(repr, unknown))}; "
                f"accepted options are: {accepted}"
            )
        for name, check in extra.items():
            if name in options:
                check(options[name])


@dataclass(frozen=True)
class MethodInfo:
    """What :func:`methods` lists: name, problem kinds, one-line description.

    ``matrix`` is the kind of matrix a linear method needs (``"SPD"``,
    ``"symmetric"``, ``"any nonsingular"``, ...), empty for other kinds.
    """

    name: str
    kinds: tuple
    description: str
    matrix: str = ""

    def __str__(self) -> str:
        return (f"{self.name:<14} {', '.join(self.kinds):<24} {self.matrix or '-':<18} "
                f"{self.description}")


_REGISTRY: dict[str, MethodSpec] = {}
_DEFAULTS: dict[str, str] = {}
_CHOOSERS: dict[str, Callable] = {}
_LAZY: dict[str, str] = {}
_LAZY_INFO: dict[str, MethodInfo] = {}


def method(
    name: str, kinds: tuple = ("linear",), default_for: tuple = (), matrix: str = ""
) -> Callable[[Callable], Callable]:
    """Register ``func`` under ``name`` for the given problem kinds.

    The first line of the function's docstring is the one-line description;
    ``matrix`` says what kind of matrix a linear method needs (``unisolve
    methods`` shows it).

    Examples
    --------
    >>> from unisolve.registry import method, get_method
    >>> @method("example-identity", kinds=("linear",))
    ... def identity(problem, *, maxiter=1):
    ...     '''Return b (solves A = I).'''
    >>> spec = get_method("example-identity")
    >>> spec.options, spec.description
    (('maxiter',), 'Return b (solves A = I).')
    >>> _ = _REGISTRY.pop("example-identity")
    """

    def register(func: Callable) -> Callable:
        sig = inspect.signature(func)
        opts = tuple(
            p.name for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
        )
        defaults = {
            p.name: p.default
            for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is not inspect.Parameter.empty
        }
        doc = inspect.getdoc(func) or ""
        description = doc.strip().splitlines()[0] if doc.strip() else name
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"method {name!r} is already registered")
        _REGISTRY[name] = MethodSpec(name, func, tuple(kinds), description, opts, defaults,
                                     matrix)
        for kind in default_for:
            _DEFAULTS[kind] = name
        return func

    return register


def register_lazy(name: str, module: str, kinds: tuple = ("linear",),
                  description: str = "", matrix: str = "") -> None:
    """Register ``name`` as provided by ``module``, imported on first use.

    ``methods()`` lists it (with ``kinds`` and ``description``) without
    importing the module, so heavy dependencies (torch) load only when used.
    """
    _LAZY[name] = module
    _LAZY_INFO[name] = MethodInfo(name, tuple(kinds), description or name, matrix)


#: Packages whose import registers methods (``@method``), imported on the first lookup.
_SOURCES: list[str] = []


def register_source(module: str) -> None:
    """Name a package whose import registers methods; it is imported on the first lookup.

    The registry knows no layer above it: the package's ``__init__`` names the
    sources (``unisolve.solvers``, whose import loads numba, so ``import unisolve``
    stays light), and lazy registrations (:func:`register_lazy`) need no source.

    Examples
    --------
    >>> from unisolve.registry import register_source
    >>> register_source("unisolve.solvers")  # already named by unisolve/__init__.py: no-op
    """
    if module not in _SOURCES:
        _SOURCES.append(module)


def _load_builtin() -> None:
    for module in _SOURCES:
        importlib.import_module(module)


def get_method(name: str) -> MethodSpec:
    """The :class:`MethodSpec` registered as ``name`` (``ValueError`` if unknown)."""
    _load_builtin()
    if name not in _REGISTRY and name in _LAZY:
        importlib.import_module(_LAZY[name])
    if name not in _REGISTRY:
        known = ", ".join(sorted(set(_REGISTRY) | set(_LAZY)))
        raise ValueError(f"unknown method {name!r}; registered methods are: {known}")
    return _REGISTRY[name]


def register_chooser(kind: str, chooser: Callable) -> None:
    """Let ``chooser(problem) -> (name, options, reason)`` pick the default for ``kind``.

    ``solve(problem)`` without ``method`` then asks it instead of taking the
    kind's fixed default (linear systems: :mod:`unisolve.solvers.structure`).
    """
    _CHOOSERS[kind] = chooser


def choose_default(problem) -> tuple[str, dict, str]:
    """``(name, options, reason)``: the default method for this problem.

    Examples
    --------
    >>> import unisolve as us
    >>> choose_default(us.problems.poisson2d(4))
    ('cg', {}, 'A is symmetric with a positive diagonal: CG')
    """
    _load_builtin()
    chooser = _CHOOSERS.get(problem.kind)
    if chooser is not None:
        return chooser(problem)
    name = default_method(problem.kind)
    return name, {}, f"the default method for problems of kind {problem.kind!r}"


def default_method(kind: str) -> str:
    """Name of the default method for a problem kind."""
    _load_builtin()
    if kind not in _DEFAULTS:
        raise ValueError(f"no default method for problems of kind {kind!r}: pass method=...")
    return _DEFAULTS[kind]


def methods(kind: str | None = None) -> list[MethodInfo] | MethodDoc:
    """All registered methods (optionally only those for one problem kind).

    Given a method's name instead of a kind (``methods("sor")``), returns
    :func:`describe` of that method: its options with their defaults and its
    docstring.

    Examples
    --------
    >>> import unisolve as us
    >>> names = [m.name for m in us.methods("linear")]
    >>> {"cg", "pcg", "sor", "ssor", "jacobi", "gauss-seidel"} <= set(names)
    True
    >>> print(us.methods("sor").splitlines()[0])  # doctest: +ELLIPSIS
    sor: Successive over-relaxation ...
    """
    _load_builtin()
    if kind is not None and (kind in _REGISTRY or kind in _LAZY):
        return describe(kind)
    infos = {s.name: MethodInfo(s.name, s.kinds, s.description, s.matrix)
             for s in _REGISTRY.values()}
    for name, info in _LAZY_INFO.items():
        infos.setdefault(name, info)  # not imported yet: listed from its registration
    return [infos[k] for k in sorted(infos) if kind is None or kind in infos[k].kinds]


class MethodDoc(str):
    """The text :func:`describe` returns; shown as plain text at the prompt."""

    def __repr__(self) -> str:
        return str(self)


def describe(name: str) -> MethodDoc:
    """What one method is and takes: kinds, matrix, options with defaults, docstring.

    The options are the method's own keyword options (``solve(p, method=name,
    option=value)``) plus the ones every method understands (``rtol``, ``atol``,
    ``maxiter``, ``x0``, ``callback``, ``seed``). The command ``unisolve methods
    NAME`` prints the same text.

    Parameters
    ----------
    name : str
        A registered method name (``unisolve.methods()`` lists them).

    Returns
    -------
    MethodDoc
        A ``str``; at the prompt it shows as plain text.

    Raises
    ------
    ValueError
        ``name`` is not registered (the message lists the registered names).

    Examples
    --------
    >>> import unisolve as us
    >>> text = us.describe("sor")
    >>> print(text.splitlines()[0])  # doctest: +ELLIPSIS
    sor: Successive over-relaxation ...
    >>> "omega=1.0" in text and "rtol" in text
    True
    """
    spec = get_method(name)
    options = ", ".join(f"{k}={spec.defaults[k]!r}" if k in spec.defaults else k
                        for k in spec.options) or "(none of its own)"
    lines = [f"{spec.name}: {spec.description}",
             f"problem kinds: {', '.join(spec.kinds)}"]
    if spec.matrix:
        lines.append(f"matrix: {spec.matrix}")
    lines.append(f"options: {options}")
    if spec.sequence_options:
        lines.append(f"sequence options: {', '.join(spec.sequence_options)}")
    common = [k for k in COMMON_OPTIONS if k not in spec.options]
    if common:  # accepted by solve() for every method; this one has no use for them
        lines.append(f"also accepted (common to every method): {', '.join(common)}")
    lines += ["", inspect.getdoc(spec.func) or ""]
    return MethodDoc("\n".join(lines).rstrip() + "\n")
