"""Imports run one way (STYLE.md point 16): each package of kerascnn imports only from floors below its own, and no
module imports itself back through others, deferred imports inside functions included. Read from the source with
ast: nothing is imported."""

import ast
from pathlib import Path

from pipeline_helpers import ROOT

# The floors, lowest first. A module may import from its own package and from any lower floor; two packages on one
# floor are independent of each other. weights sits below the models and the registry: get_model(weights=...)
# loads them, and they need only the layers' types.
FLOORS = (
    ("errors", "io", "choices", "policy", "compat"),
    ("layers",),
    ("weights",),
    ("models",),
    ("registry",),
    ("data",),
    ("analysis",),
    ("serving",),  # what a served version is: the pusher (training) and pipelines.export write it
    ("training",),
    ("tuning", "benchmark", "experiments"),
)
FLOOR = {package: level for level, packages in enumerate(FLOORS) for package in packages}
# Cycles known and accepted, each with its reason; none today. A cycle removed must leave this list (the test says
# so).
KNOWN_CYCLES = set()


def _modules():
    """{module name: path} of every module of kerascnn and pipelines."""
    found = {}
    for top in ("kerascnn", "pipelines"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path, name, modules):
    """(line, imported module) of every import in the file at `path` (module `name`), wherever it is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield node.lineno, submodule if submodule in modules else base


def _graph():
    modules = _modules()
    return {
        name: {(line, target) for line, target in _imports(path, name, modules) if target in modules}
        for name, path in modules.items()
    }


def _package(module):
    parts = module.split(".")
    return parts[1] if parts[0] == "kerascnn" and len(parts) > 1 else parts[0]


def test_every_import_looks_down_the_floors():
    uphill = []
    for module, targets in _graph().items():
        if not module.startswith("kerascnn."):
            continue
        here = _package(module)
        for line, target in sorted(targets):
            there = _package(target)
            if target == "kerascnn" or there == "pipelines":
                uphill.append(f"{module}:{line} imports {target}")
            elif there != here and FLOOR[there] >= FLOOR[here]:
                uphill.append(f"{module}:{line} ({here}, floor {FLOOR[here]}) imports {target} (floor {FLOOR[there]})")
    assert not uphill, "\n".join(uphill)


def test_every_package_has_a_floor():
    packages = {_package(module) for module in _modules() if module.startswith("kerascnn.")}
    assert packages <= set(FLOOR), packages - set(FLOOR)


def _cycles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm), as frozensets."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for _, target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return set(found)


def test_no_module_imports_itself_back():
    cycles = _cycles(_graph())
    assert cycles <= KNOWN_CYCLES, [sorted(c) for c in cycles - KNOWN_CYCLES]
    assert KNOWN_CYCLES <= cycles, f"gone, remove them from KNOWN_CYCLES: {[sorted(c) for c in KNOWN_CYCLES - cycles]}"


def test_the_checks_find_what_they_look_for():
    # An upward import and a cycle, checked on a graph made by hand (an independent expectation).
    graph = {"a": {(1, "b")}, "b": {(2, "c")}, "c": {(3, "a")}, "d": {(4, "a")}}
    assert _cycles(graph) == {frozenset({"a", "b", "c"})}
    assert _package("kerascnn.training.trainer") == "training" and FLOOR["analysis"] < FLOOR["training"]
    assert _package("pipelines.train") == "pipelines"


def test_importing_kerascnn_loads_no_keras():
    import subprocess
    import sys

    heavy = "('keras', 'tensorflow')"
    code = f"import sys, kerascnn, kerascnn.choices; print(sorted(m for m in sys.modules if m.startswith({heavy})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(ROOT))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['kerascnn', 'kerascnn.choices']"
