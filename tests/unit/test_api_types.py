"""The package is typed: mypy --strict passes on the public API (oci_runtime/container/api.py,
errors.py) and every annotated package (the configuration is [tool.mypy] in pyproject.toml), and
the errors keep runc's messages."""
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_mypy_strict_on_the_public_api():
    mypy = shutil.which("mypy", path=os.path.dirname(sys.executable))
    if mypy is None:
        # Under CI (CI=true, as .ci/run sets) the type check is a stage that must run.
        missing = "mypy is not installed (pip install -e '.[test]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}: CI=true, so the type check may not be skipped")
        pytest.skip(missing)
    result = subprocess.run([mypy, "--no-incremental"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_typing_is_imported_for_the_type_checker_only():
    """Annotations cost the CLI nothing: typing, collections.abc and types are imported only
    under ``if TYPE_CHECKING:`` (importing typing costs more than everything `state` imports),
    annotations naming them are strings, and no module has ``from __future__ import annotations``
    (that statement imports the __future__ module, one more for every call)."""
    import ast

    checker_only = {"typing", "collections.abc", "types", "__future__"}
    found = []
    for directory, _, files in os.walk(os.path.join(REPO, "oci_runtime")):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            with open(path) as source:
                tree = ast.parse(source.read(), path)
            for_checker = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
                    for_checker.update(id(child) for child in ast.walk(node))
            for node in ast.walk(tree):
                if id(node) in for_checker:
                    continue
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    modules = [node.module or ""]
                else:
                    continue
                found += [f"{os.path.relpath(path, REPO)}:{node.lineno}: {module}"
                          for module in modules if module in checker_only]
    assert not found, "imported at run time:\n" + "\n".join(found)


def test_config_error_pointer_from_message():
    from oci_runtime.errors import ConfigError, OCIError, pointer_in_message

    error = ConfigError("config.json: /linux/namespaces/3/type: unknown namespace type 'x'")
    assert error.pointer == "/linux/namespaces/3/type"
    assert isinstance(error, OCIError)
    assert ConfigError("config.json: /process/terminal is true: pass --console-socket").pointer \
        == "/process/terminal"
    assert ConfigError("whatever", "/root/path").pointer == "/root/path"
    assert pointer_in_message("/bundle/config.json: no such file") is None
    assert pointer_in_message("config.json: invalid JSON at line 1 column 2: x") is None


def test_package_exports_the_api_lazily():
    import oci_runtime
    from oci_runtime import errors
    from oci_runtime.container import api

    assert oci_runtime.Runtime is api.Runtime
    assert oci_runtime.Container is api.Container
    assert oci_runtime.ConfigError is errors.ConfigError
    assert "Runtime" in dir(oci_runtime)
    with pytest.raises(AttributeError):
        oci_runtime.NoSuchName  # noqa: B018


def test_hot_commands_go_through_the_api_without_heavy_imports(tmp_path):
    """`state`, `start` and `kill` call oci_runtime.container.api, and still import none of os, typing,
    json, enum, socket.py or jsonschema (docs/architecture.md "Hot path rules")."""
    launcher = os.path.join(os.path.dirname(sys.executable), "oci-runtime")
    if not os.path.exists(launcher):
        pytest.skip("no generated launcher beside this interpreter")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "state.json").write_text('{"id": "x", "pid": 0, "status": "creating"}')
    code = ("import sys; exec(open(sys.argv[1]).read().split('from oci_runtime')[0]);"
            "from oci_runtime.cli import main\n"
            "for command in (['state', 'x'], ['start', 'x'], ['kill', 'x']):\n"
            "    main(['--root', sys.argv[2], *command])\n"
            "heavy = [m for m in ('os', 'typing', 'json', 'enum', 'socket', 'jsonschema')"
            " if m in sys.modules]\n"
            "print('api' if 'oci_runtime.container.api' in sys.modules else 'no api', heavy)")
    probe = subprocess.run([sys.executable, "-IS", "-c", code, launcher, str(tmp_path)],
                           capture_output=True, text=True, timeout=30)
    assert probe.stdout.strip().splitlines()[-1] == "api []", probe.stdout + probe.stderr
