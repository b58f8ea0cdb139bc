"""The package's layout (docs/architecture.md): packages by layer, imports downwards only, no
import circle, no module over 500 lines.

Every import statement counts, the ones inside functions too: a lazy import that runs upwards
is still a circle a reader has to untangle, and it is where the next eager one comes from."""
import ast
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = REPO / "oci_runtime"

# Lowest first.  A package imports packages of its own rank (without a circle) or lower ones.
LAYERS = (
    # the root: oci_runtime/__init__.py, errors.py (raised by every layer) and _image.py (the
    # import image's finder, which the package's __init__ installs before anything else)
    ("errors", "_image"),
    ("kernel",),
    ("config", "userns", "process", "rootfs", "cgroups", "seccomp", "network", "hooks",
     "terminal", "executor", "criu"),
    ("plan",),
    ("container",),
    ("check",),
    ("cli",),
    ("__main__",),
)
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}
MAX_LINES = 500


def _modules():
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _import_graph(modules):
    """{module: {module it imports}} over the package's own modules, from the source's AST."""

    def known(name):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")[: None if is_package else -1]
                    base = base[: len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                # `from P import name` imports the submodule P.name when there is one, else P.
                names = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                         for alias in node.names]
            else:
                continue
            targets.update(known(name) for name in names if name.startswith("oci_runtime"))
        targets.discard(module)
        targets.discard("")
        graph[module] = targets
    return graph


def _layer(module):
    parts = module.split(".")
    return "errors" if len(parts) == 1 or parts[1] == "errors" else parts[1]


def _circles(graph):
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def _package_graph(graph):
    packages = {}
    for module, targets in graph.items():
        packages.setdefault(_layer(module), set()).update(
            _layer(target) for target in targets if _layer(target) != _layer(module))
    return packages


def test_the_walk_sees_lazy_imports_and_circles():
    """The checks below can fail: a lazy import inside a function is an edge, and a loop of
    three modules is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]
    modules = _modules()
    edges = _import_graph(modules)
    # plan/create.py imports rootfs.idmapped_mounts inside _add_mount only.
    assert "oci_runtime.rootfs.idmapped_mounts" in edges["oci_runtime.plan.create"]


def test_no_import_circle_between_modules():
    circles = _circles(_import_graph(_modules()))
    assert not circles, f"modules that import each other: {circles}"


def test_no_import_circle_between_packages():
    circles = _circles(_package_graph(_import_graph(_modules())))
    assert not circles, f"packages that import each other: {circles}"


def test_every_package_has_a_layer():
    packages = {_layer(module) for module in _modules()}
    assert packages <= set(RANK), f"packages in no layer of LAYERS: {sorted(packages - set(RANK))}"


def test_imports_run_downwards_only():
    graph = _import_graph(_modules())
    upwards = sorted(f"{module} -> {target}" for module, targets in graph.items()
                     for target in targets
                     if RANK[_layer(target)] > RANK[_layer(module)])
    assert not upwards, "imports that run up a layer:\n" + "\n".join(upwards)


def _sources():
    yield from PACKAGE.rglob("*.py")
    yield from (REPO / "bench").rglob("*.py")
    yield from (REPO / "tests").rglob("*.py")
    yield from (REPO / "conformance").rglob("*.py")
    yield from (REPO / "cext").glob("*.[ch]")
    yield from (path for path in (REPO / "scripts").iterdir() if path.is_file())


def test_no_module_over_500_lines():
    too_long = sorted(f"{path.relative_to(REPO)}: {count} lines"
                      for path in _sources()
                      if (count := len(path.read_bytes().splitlines())) > MAX_LINES)
    assert not too_long, f"over {MAX_LINES} lines: {too_long}"


def test_every_package_is_installed():
    """pyproject.toml lists the packages a non-editable install copies: a package missing there
    works from a checkout and fails once installed."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    packages = {".".join(path.parent.relative_to(REPO).parts)
                for path in PACKAGE.rglob("__init__.py")}
    assert packages - listed == set(), "packages pyproject.toml does not install"
