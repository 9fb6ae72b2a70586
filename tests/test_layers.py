"""Issue 26 item 20: the import graph points one way (docs/ARCHITECTURE.md, "Layers").

Ground floor (``result``, ``progress``, ``registry``, ``threads``, ``options``,
``petsc_convert``, ``norms``) imports nothing of unisolve; ``backend`` only the ground
floor; ``scaling`` (the equilibration every linear method runs under) the ground floor and
``backend``;
``problems`` only ``backend`` and ``progress``; ``solvers`` and ``learned`` never
the face (``api``, ``cli``) or the glue (``interop``); nothing but the package's
``__init__`` imports ``api``. A module named in a string (``importlib.import_module(
"unisolve.solvers")``) counts as an import: that is how the registry used to
reach the solver layer.

On the main branch before this issue the test failed on four edges:
``problems.mac_flow -> solvers.mac_projection``, ``backend -> interop.petsc`` and
``registry -> unisolve.solvers / learned / interop`` (by string).
"""

from __future__ import annotations

import ast
from pathlib import Path

import unisolve as us

GROUND = {"unisolve.result", "unisolve.progress", "unisolve.registry", "unisolve.threads",
          "unisolve.options", "unisolve.petsc_convert", "unisolve.norms"}


def _imports(path: Path, root: Path) -> set[str]:
    """The unisolve modules ``path`` imports: anywhere in it, or named in a string call."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    package = parts if parts[-1] == "__init__" else parts[:-1]
    package = [p for p in package if p != "__init__"]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            if node.module:
                found.add(".".join([*base, node.module]))
            else:
                found.update(".".join([*base, a.name]) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("unisolve"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("unisolve"))
        elif (isinstance(node, ast.Call) and node.args
              and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and node.args[0].value.startswith("unisolve.")
              and " " not in node.args[0].value):  # importlib.import_module("unisolve.x")
            found.add(node.args[0].value)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """``{module: modules it imports}`` for the package at ``root``."""
    graph = {}
    for path in root.rglob("*.py"):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        graph[name.removesuffix(".__init__")] = _imports(path, root)
    return graph


def _layer(module: str) -> str:
    return ".".join(module.split(".")[:2])


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Every edge that points the wrong way, as ``'a -> b'``."""
    allowed = {
        "unisolve.backend": GROUND,
        "unisolve.sequence": {"unisolve.result", "unisolve.progress"},
        "unisolve.problems": {"unisolve.backend", "unisolve.progress", "unisolve.problems"},
        "unisolve.scaling": GROUND | {"unisolve.backend"},
        "unisolve.api": GROUND | {"unisolve.sequence", "unisolve.scaling"},
    }
    forbidden = {
        "unisolve.solvers": {"unisolve.api", "unisolve.cli", "unisolve.interop"},
        "unisolve.learned": {"unisolve.api", "unisolve.cli", "unisolve.interop"},
        "unisolve.interop": {"unisolve.api", "unisolve.cli"},
    }
    bad = []
    for module, deps in sorted(graph.items()):
        layer = _layer(module)
        for dep in sorted(deps):
            target = _layer(dep)
            if module in GROUND:
                ok = False
            elif layer in allowed:
                ok = target in allowed[layer] or target == layer == "unisolve.problems"
            elif layer in forbidden:
                ok = target not in forbidden[layer]
            else:
                ok = True
            if target == "unisolve.api" and module != "unisolve":
                ok = False
            if not ok:
                bad.append(f"{module} -> {dep}")
    return bad


def test_item20_imports_point_one_way():
    graph = import_graph(Path(us.__file__).parent)
    assert violations(graph) == []


def test_item20_the_checker_sees_the_old_edges(tmp_path):
    """The four edges of the old main, written as modules, are reported (the test can fail)."""
    pkg = tmp_path / "unisolve"
    for sub in ("problems", "solvers", "interop"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from .api import solve\n")
    (pkg / "problems" / "mac_flow.py").write_text(
        "def f():\n    from ..solvers.mac_projection import MacProjection\n")
    (pkg / "backend.py").write_text("def g():\n    from .interop import petsc\n")
    (pkg / "registry.py").write_text(
        "import importlib\nimportlib.import_module('unisolve.solvers')\n")
    (pkg / "solvers" / "tuning.py").write_text("from ..api import run_sequence\n")
    assert violations(import_graph(pkg)) == [
        "unisolve.backend -> unisolve.interop",
        "unisolve.problems.mac_flow -> unisolve.solvers.mac_projection",
        "unisolve.registry -> unisolve.solvers",
        "unisolve.solvers.tuning -> unisolve.api",
    ]


def test_the_sequence_loop_is_ground_floor():
    """DESIGN.md: the loop over a sequence's instances imports only result and progress, and
    the methods that learn across instances use it, not api (moved from tests/test_api.py)."""
    graph = import_graph(Path(us.__file__).parent)
    assert graph["unisolve.sequence"] <= {"unisolve.result", "unisolve.progress"}
    for module in ("unisolve.solvers.tuning", "unisolve.solvers.reuse", "unisolve.solvers.auto"):
        assert "unisolve.sequence" in graph[module]

