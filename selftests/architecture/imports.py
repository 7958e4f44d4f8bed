"""The package's import graph read with `ast`: which layer imports which, and cycles between modules."""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "rc_e2e_conformance"
#: layer → the layers it may import (ARCHITECTURE.md). "" is the package root (`__version__`).
ALLOWED: dict[str, frozenset[str]] = {
    "": frozenset(),
    "__main__": frozenset({"cli"}),
    "contract": frozenset({""}),
    "server": frozenset({"", "contract"}),
    "properties": frozenset({"", "contract", "server"}),
    "report": frozenset({"", "contract"}),
    "pytest_plugin": frozenset({"", "contract", "server", "properties", "report"}),
    "cli": frozenset({"", "contract", "server", "properties", "report", "pytest_plugin"}),
    "suite": frozenset({"", "contract", "server", "properties", "pytest_plugin"}),
    "refserver": frozenset(),
}
#: The only modules that may import the reference server, and only inside a function (lazily).
REFSERVER_USERS = frozenset({f"{PACKAGE}.server.targets", f"{PACKAGE}.cli.mutation"})


@dataclass(frozen=True)
class Edge:
    importer: str  # module name
    target: str  # imported module (or package) name
    lazy: bool  # inside a function: runs when called, not at import
    type_only: bool  # under `if TYPE_CHECKING:`
    line: int


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == PACKAGE else ""


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def edges_of(source: str, module: str, is_package: bool) -> list[Edge]:
    """Every import of our package in one module's source, resolved to absolute names."""
    out: list[Edge] = []

    def visit(node: ast.AST, lazy: bool, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, True, type_only)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.body:
                    visit(ast.Module(body=[sub], type_ignores=[]), lazy, True)
                for sub in child.orelse:
                    visit(ast.Module(body=[sub], type_ignores=[]), lazy, type_only)
            elif isinstance(child, ast.Import):
                out.extend(Edge(module, a.name, lazy, type_only, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[:len(anchor) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    # `from pkg import name`: name is a submodule or an attribute; the submodule is the finer edge.
                    out.append(Edge(module, f"{base}.{alias.name}" if base else alias.name, lazy, type_only,
                                    child.lineno))
            else:
                visit(child, lazy, type_only)

    visit(ast.parse(source), False, False)
    return [e for e in out if e.target == PACKAGE or e.target.startswith(PACKAGE + ".")]


def package_edges(root: Path) -> tuple[set[str], list[Edge]]:
    """(every module of the package, every import of ours in it); `root` holds the package folder."""
    modules: set[str] = set()
    edges: list[Edge] = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        name = module_name(root, path)
        modules.add(name)
        edges += edges_of(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
    return modules, edges


def resolve(target: str, modules: set[str]) -> str:
    """`pkg.mod.attr` → `pkg.mod`: the longest prefix that is a module of the package."""
    parts = target.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts)


def violations(modules: set[str], edges: list[Edge]) -> list[str]:
    """Imports against the allowed directions, refserver imports outside the two lazy users."""
    found = []
    for e in edges:
        target = resolve(e.target, modules) or e.target
        src, dst = layer_of(e.importer), layer_of(target)
        where = f"{e.importer}:{e.line} imports {target}"
        if src == dst and src != "":
            continue
        if src not in ALLOWED:
            found.append(f"{where}: {src!r} is not a known layer (add it to ARCHITECTURE.md)")
        elif dst == "refserver":
            if e.importer not in REFSERVER_USERS or not e.lazy:
                found.append(f"{where}: only {', '.join(sorted(REFSERVER_USERS))} may import refserver, lazily")
        elif dst not in ALLOWED[src]:
            found.append(f"{where}: layer {src or 'root'} may not import layer {dst or 'root'}")
    return found


def cycles(modules: set[str], edges: list[Edge]) -> list[list[str]]:
    """Cycles among modules through imports that run at import time (not lazy, not TYPE_CHECKING-only)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for e in edges:
        target = resolve(e.target, modules)
        if target and not e.lazy and not e.type_only and target != e.importer:
            graph[e.importer].add(target)
            # importing a.b.c runs a/__init__ and a/b/__init__ first
            parts = target.split(".")
            for i in range(2, len(parts)):
                parent = ".".join(parts[:i])
                if parent in graph and parent != e.importer and not e.importer.startswith(parent + "."):
                    graph[e.importer].add(parent)
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for m in sorted(graph):
        if m not in state:
            walk(m)
    return found
