"""Our schemas and how validate.py loads them: only the keywords the validator implements, every
reference resolving, a regex-free predicate for each pattern, import cost, and the installed layout
(schemas inside the package) winning over a checkout's."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from oci_runtime.config import validate

from .test_validate import mutated, runc_spec_config

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO_ROOT / "schemas"


# --- schema hygiene and loading -----------------------------------------------------------------------

def _schema_nodes(schema):
    """Yield every sub-schema (not property-name maps, enum values or dependentRequired lists)."""
    if type(schema) is not dict:
        return
    yield schema
    for keyword in ("properties", "$defs"):
        for member in schema.get(keyword, {}).values():
            yield from _schema_nodes(member)
    for keyword in ("items", "additionalProperties", "propertyNames", "if", "then", "else"):
        if keyword in schema:
            yield from _schema_nodes(schema[keyword])
    for keyword in ("anyOf", "oneOf", "allOf"):
        for member in schema.get(keyword, ()):
            yield from _schema_nodes(member)


@pytest.mark.parametrize("kind", ["config", "state", "features"])
def test_schemas_use_only_keywords_the_validator_implements(kind):
    schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text())
    known = validate.SUPPORTED_KEYWORDS | validate.ANNOTATION_KEYWORDS
    unknown = {keyword for node in _schema_nodes(schema) for keyword in node if keyword not in known}
    assert unknown == set()


@pytest.mark.parametrize("kind", ["config", "state", "features"])
def test_every_local_reference_resolves(kind):
    text = (SCHEMA_DIR / f"{kind}.schema.json").read_text()
    schema = json.loads(text)
    references = {node["$ref"] for node in _schema_nodes(schema) if "$ref" in node}
    for reference in references:
        assert reference.startswith("#/$defs/") and reference[len("#/$defs/"):] in schema["$defs"], reference


def _schema_patterns():
    for kind in ("config", "state", "features"):
        schema = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text())
        yield from (node["pattern"] for node in _schema_nodes(schema) if "pattern" in node)


def test_every_schema_pattern_has_a_regex_free_predicate():
    """Keeps `re` (~8 ms to import without site, ~1.5 ms to compile the SemVer pattern) off create's path."""
    assert set(_schema_patterns()) <= set(validate._PATTERN_PREDICATES)


PATTERN_SAMPLES = [
    "", "/", "/a/b", "a/b", " /a", "rootfs",
    "0.0.0", "1.0.0", "1.3.0", "10.20.30", "01.0.0", "1.01.0", "1.0.01", "1.0", "1.0.0.0", "v1.0.0", "1.0.0-",
    "1.0.0+", "1.0.0-dev", "1.0.2-dev", "1.1.0-rc.2", "1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0-alpha-1",
    "1.0.0-01", "1.0.0-0a", "1.0.0-a..b", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85",
    "1.0.0+build.01", "1.0.0+a+b", "1.0.0-a_b", "１.0.0", "1.0.0 ", "1.2.3-é",
    "64KB", "2MB", "1GB", "16GB", "64kB", "0KB", "064KB", "KB", "1B", "2MiB", "10TB", "1EB",
    "rwm", "r", "", "mrw", "rwx", "RW", "rw m",
    "MB:0=20;1=70", "MB:", "mb:0=20", "L3:0=7f0", "MB:0=20\nL3:0=1", "L2:0=f\nL3:0=1", "a\nb",
]


@pytest.mark.parametrize("pattern", sorted(validate._PATTERN_PREDICATES))
def test_pattern_predicates_agree_with_re(pattern):
    import re

    regex = re.compile(pattern)
    for sample in PATTERN_SAMPLES:
        assert validate._matches(pattern, sample) == (regex.search(sample) is not None), sample


def test_dollar_means_end_of_string_as_in_ecma_262():
    """Python's re would let '$' match before a final newline; JSON Schema patterns are ECMA-262."""
    assert validate.errors(mutated(runc_spec_config(), ("ociVersion",), "1.0.0\n"), "config") == [
        ("/ociVersion", r'must be a SemVer 2.0.0 version such as 1.2.0 (got "1.0.0\n")')]


def test_pattern_without_predicate_falls_back_to_re():
    checker = validate._SchemaChecker({}, {})
    checker.check("abc-123", {"type": "string", "pattern": "^[a-z]+-[0-9]+$"}, "/id")
    checker.check("abc", {"type": "string", "pattern": "^[a-z]+-[0-9]+$"}, "/id")
    assert checker.problems == [("/id", 'must be a string matching ^[a-z]+-[0-9]+$ (got "abc")')]


def _run_python(code, python_path, *interpreter_options):
    """Run ``code`` in a fresh interpreter that imports oci_runtime from ``python_path`` only (the working
    directory is python_path too, since ``python -c`` puts it first on sys.path)."""
    completed = subprocess.run([sys.executable, *interpreter_options, "-c", code], capture_output=True, text=True,
                               check=True, cwd=python_path, env={**os.environ, "PYTHONPATH": str(python_path)})
    return completed.stdout.strip()


def test_import_is_cheap_and_loads_no_schema():
    code = (
        "import sys, oci_runtime.errors\n"
        "before = set(sys.modules)\n"
        "import oci_runtime.config.validate as v\n"
        "print(sorted(set(sys.modules) - before), v._loaded_schemas, 'jsonschema' in sys.modules)\n"
    )
    # -S: without site, not even os is preloaded, so any module-level import would show up here.
    output = _run_python(code, REPO_ROOT, "-S")
    assert output == "['oci_runtime.config', 'oci_runtime.config.validate'] {} False"


def test_validating_needs_neither_json_nor_re():
    """Under `python -S` (no site hooks preloading modules) a whole validation imports no json, no re."""
    code = (
        "import sys\n"
        "from oci_runtime.kernel import hotpath\n"
        "from oci_runtime.config import validate\n"
        f"validate.validate_config(hotpath.loads({json.dumps(json.dumps(runc_spec_config()))}))\n"
        "validate.validate_state({'ociVersion': '1.3.0', 'id': 'c', 'status': 'stopped', 'bundle': '/b'})\n"
        "print(sorted(name for name in ('json', 're', 'jsonschema') if name in sys.modules))\n"
    )
    assert _run_python(code, REPO_ROOT, "-S") == "[]"


def _copy_validator_package(destination):
    """The modules validate needs, copied without any schemas/ folder."""
    package = destination / "oci_runtime"
    for module in ("__init__.py", "_image.py", "errors.py", "kernel/__init__.py", "kernel/hotpath.py",
                   "config/__init__.py", "config/validate.py"):
        (package / module).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / "oci_runtime" / module, package / module)
    return package


def test_installed_layout_prefers_schemas_inside_the_package(tmp_path):
    """pyproject installs schemas/ as oci_runtime/schemas; that copy must win over any checkout."""
    package = _copy_validator_package(tmp_path)
    (package / "schemas").mkdir()
    packaged_schema = json.loads((SCHEMA_DIR / "state.schema.json").read_text())
    packaged_schema["required"].append("installedMarker")
    (package / "schemas" / "state.schema.json").write_text(json.dumps(packaged_schema))
    code = (
        "from oci_runtime.config import validate\n"
        "print(validate.errors({'ociVersion': '1.3.0', 'id': 'c', 'status': 'stopped', 'bundle': '/b'}, 'state'))\n"
    )
    output = _run_python(code, tmp_path)
    assert output == "[('/installedMarker', 'missing required property')]"


def test_missing_schema_file_is_reported(tmp_path):
    package = _copy_validator_package(tmp_path)
    code = (
        "from oci_runtime.config import validate\n"
        "from oci_runtime.errors import OCIError\n"
        "try:\n"
        "    validate.validate_features({})\n"
        "except OCIError as error:\n"
        "    print(error)\n"
    )
    output = _run_python(code, tmp_path)
    assert output.startswith("schema features.schema.json not found (looked in ")
