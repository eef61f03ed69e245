"""No import cycle anywhere in the project, not even through an import inside a function.

Every module of the project's packages is parsed with `ast` (nothing is imported, so a module
that needs torch costs nothing here); each import statement, wherever it sits, is an edge to
the project modules it loads: `import a.b` loads a and a.b, `from a import b` loads a and, when
b is a submodule, a.b too. Relative imports are resolved against the importing module's package.

One exception: the packages a module sits in are loaded before the module itself runs, so a
module that imports a sibling through their package (`jobs.models.job` importing
`jobs.models.job_lifecycle`) does not depend on that package for it. It still does when it takes
names from the package itself (`from jobs.models import Job` inside jobs.models.job): those are
edges, and a package whose __init__ re-exports such a module is a cycle. And imports under
`if TYPE_CHECKING:` load nothing when the program runs (they are for the type checker: a
queryset names its model so), so they are no edges here; the import-linter contracts still
hold them to the layers.
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


def _imported_names(node, module, is_package, modules):
    """The dotted names one import statement takes something from: a submodule where `from a
    import b` names one, else the package or module itself."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level:
        # The package that `.` means: the module itself for an __init__, else its parent.
        package = module if is_package else module.rpartition(".")[0]
        anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
        base = f"{anchor}.{node.module}" if node.module else anchor
    else:
        base = node.module
    names = {f"{base}.{alias.name}" for alias in node.names if alias.name != "*"}
    taken = {name for name in names if name in modules}
    return taken if len(taken) == len(names) else taken | {base}


def import_graph(root, packages):
    """{module: set of project modules it imports, anywhere in its body}."""
    modules = project_modules(root, packages)
    graph = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        # Loaded before this module runs: importing through them adds no edge (see above).
        enclosing = _with_ancestors(module) - ({module} if not is_package else set())
        targets = set()
        for node in _runtime_nodes(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _imported_names(node, module, is_package, modules):
                    targets |= {name} | (_with_ancestors(name) - enclosing)
        graph[module] = {target for target in targets if target in modules} - {module}
    return graph


def _runtime_nodes(tree):
    """Every node of the module but those under `if TYPE_CHECKING:`."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test).endswith("TYPE_CHECKING"):
                pending.extend(child.orelse)
            else:
                pending.append(child)


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

    assert graph["shop.orders"] == {"shop.billing", "shop.billing.invoice"}
    assert "shop.migrations.0001" not in graph
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert {"shop.orders", "shop.billing.invoice", "shop.stock"} <= set(cycle)


def test_a_package_that_re_exports_its_modules_is_a_cycle_only_when_they_take_from_it(tmp_path):
    package = tmp_path / "shop" / "models"
    package.mkdir(parents=True)
    (tmp_path / "shop" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from shop.models.order import Order\n")
    (package / "order.py").write_text("from shop.models.line import Line\nclass Order: ...\n")
    (package / "line.py").write_text("class Line: ...\n")

    assert find_cycle(import_graph(tmp_path, ["shop"])) is None

    (package / "line.py").write_text("from shop.models import Order\nclass Line: ...\n")
    cycle = find_cycle(import_graph(tmp_path, ["shop"]))
    assert cycle is not None and {"shop.models", "shop.models.order", "shop.models.line"} <= set(
        cycle
    )


def test_imports_for_the_type_checker_only_are_no_edges(tmp_path):
    package = tmp_path / "shop"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "order.py").write_text("from shop.line import Line\nclass Order: ...\n")
    (package / "line.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from shop.order import Order\n"
        "else:\n    import shop.stock\n"
    )
    (package / "stock.py").write_text("")

    graph = import_graph(tmp_path, ["shop"])

    assert graph["shop.line"] == {"shop.stock"}
    assert find_cycle(graph) is None
