"""No import cycle anywhere in the project, not even through an import inside a function.

Every module of the project's packages is parsed with `ast` (nothing is imported, so a module
that needs torch costs nothing here); each import statement, wherever it sits, is an edge to
the project modules it loads: `import a.b` loads a and a.b, `from a import b` loads a and, when
b is a submodule, a.b too. Relative imports are resolved against the importing module's package.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tunerproject", "accounts", "jobs")


def project_modules(root, packages):
    """{dotted name: path} for every module under `packages`, migrations left out."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _with_ancestors(name):
    parts = name.split(".")
    return {".".join(parts[: i + 1]) for i in range(len(parts))}


def _imported_names(node, module, is_package):
    """The dotted names one import statement may load, before keeping the project's own."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level:
        # The package that `.` means: the module itself for an __init__, else its parent.
        package = module if is_package else module.rpartition(".")[0]
        anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        base = f"{anchor}.{node.module}" if node.module else anchor
    else:
        base = node.module
    return {base} | {f"{base}.{alias.name}" for alias in node.names if alias.name != "*"}


def import_graph(root, packages):
    """{module: set of project modules it imports, anywhere in its body}."""
    modules = project_modules(root, packages)
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _imported_names(node, module, path.name == "__init__.py"):
                    targets |= _with_ancestors(name)
        graph[module] = {target for target in targets if target in modules} - {module}
    return graph


def find_cycle(graph):
    """One cycle as a list of modules (the first repeated at the end), or None."""
    state = {}  # module -> "open" while on the current path, "done" once fully explored
    path = []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_no_project_module_imports_itself_through_others():
    graph = import_graph(ROOT, PACKAGES)
    assert {"jobs.training.services", "jobs.training.run", "jobs.training.tasks"} <= set(
        graph
    )  # walked them
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_walk_sees_imports_inside_functions_relative_ones_and_submodules(tmp_path):
    package = tmp_path / "shop"
    (package / "billing").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "billing" / "__init__.py").write_text("")
    (package / "orders.py").write_text("def total():\n    from .billing import invoice\n")
    (package / "billing" / "invoice.py").write_text("from shop import stock\n")
    (package / "stock.py").write_text("import shop.orders\n")
    (package / "migrations").mkdir()
    (package / "migrations" / "0001.py").write_text("from shop import orders\n")

    graph = import_graph(tmp_path, ["shop"])

    assert graph["shop.orders"] == {"shop", "shop.billing", "shop.billing.invoice"}
    assert "shop.migrations.0001" not in graph
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert {"shop.orders", "shop.billing.invoice", "shop.stock"} <= set(cycle)
