"""The layers of ARCHITECTURE.md hold: every import goes one way, and no modules import each other in a cycle."""
from __future__ import annotations

from pathlib import Path

from .imports import ALLOWED, PACKAGE, Edge, cycles, edges_of, package_edges, violations

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_follows_the_allowed_directions():
    modules, edges = package_edges(ROOT)
    assert len(modules) > 60 and len(edges) > 100  # the whole package was read, not an empty folder
    assert violations(modules, edges) == []


def test_no_import_cycles():
    modules, edges = package_edges(ROOT)
    assert cycles(modules, edges) == []


def test_every_subpackage_is_a_known_layer():
    layers = {p.name for p in (ROOT / PACKAGE).iterdir() if (p / "__init__.py").is_file()}
    assert layers <= set(ALLOWED) and layers >= {"contract", "server", "properties", "report", "pytest_plugin",
                                                  "cli", "suite", "refserver"}


def test_architecture_md_names_every_layer_and_rule():
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for layer in ALLOWED:
        if layer and layer != "__main__":
            assert f"`{layer}/`" in text, layer
    assert "server/targets.py" in text and "cli/mutation.py" in text


def test_the_checker_catches_a_forbidden_import_a_cycle_and_an_eager_refserver_import():
    modules = {f"{PACKAGE}.contract.spec", f"{PACKAGE}.report.build", f"{PACKAGE}.server.client",
               f"{PACKAGE}.server.targets", f"{PACKAGE}.refserver.server"}
    upward = edges_of("from rc_e2e_conformance.server.client import Client\n", f"{PACKAGE}.contract.spec", False)
    assert violations(modules, upward) == [
        f"{PACKAGE}.contract.spec:1 imports {PACKAGE}.server.client: layer contract may not import layer server"]
    eager = edges_of("from ..refserver.server import serve\n", f"{PACKAGE}.server.targets", False)
    assert "lazily" in violations(modules, eager)[0]
    lazy = edges_of("def f():\n    from ..refserver.server import serve\n", f"{PACKAGE}.server.targets", False)
    assert violations(modules, lazy) == []
    loop = [Edge(f"{PACKAGE}.server.client", f"{PACKAGE}.server.targets", False, False, 1),
            Edge(f"{PACKAGE}.server.targets", f"{PACKAGE}.server.client", False, False, 1)]
    assert cycles(modules, loop) == [[f"{PACKAGE}.server.client", f"{PACKAGE}.server.targets",
                                      f"{PACKAGE}.server.client"]]
    typed = [Edge(f"{PACKAGE}.server.client", f"{PACKAGE}.server.targets", False, True, 1), loop[1]]
    assert cycles(modules, typed) == []  # TYPE_CHECKING-only imports never run


def test_data_files_are_found_through_importlib_resources_only():
    """ARCHITECTURE.md: data files are read through contract/resources.py, never a path built from a
    module's own file (the same code must find them in a checkout and in an installed wheel)."""
    modules = sorted((ROOT / PACKAGE).rglob("*.py"))
    assert len(modules) > 60
    assert [str(m.relative_to(ROOT)) for m in modules if "__file__" in m.read_text(encoding="utf-8")] == []
