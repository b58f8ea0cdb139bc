"""Validate config.json, state.json and the features structure against our own JSON schemas.

Why not the ``jsonschema`` library: importing it costs ~100 ms and ``create`` must stay fast.  This module
interprets just the subset of JSON Schema (draft 2020-12 spelling) that ``schemas/*.schema.json`` use --
see ``SUPPORTED_KEYWORDS`` -- and words its errors for users: one line, a JSON pointer, the problem.

Neither ``json`` nor ``re`` is imported on the way to a verdict: with ``python -S`` importing them costs
~10 ms and ~8 ms, and compiling the SemVer regex another ~1.5 ms.  Schemas are read with
``oci_runtime.kernel.hotpath``; every ``pattern`` our schemas use has a plain-Python predicate in
``_PATTERN_PREDICATES`` (tests check each one against ``re``); ``re`` remains only as the fallback for a
pattern without one.

Deliberate differences from JSON Schema as the ``jsonschema`` library implements it:
  * an ``integer`` must be a JSON integer: ``1.0`` is rejected, because every consumer of these values
    passes them to int-only system interfaces;
  * ``$`` in our patterns means end of string, as in ECMA-262 (which JSON Schema specifies); Python's
    ``re`` also lets it match before a final newline, so "1.0.0\\n" passes ``jsonschema`` but not us.

Measured on a 2-vCPU x86-64 VM, CPython 3.11.7, a fresh interpreter per run (300 runs, min / median),
module installed with its .pyc as pyproject lays it out (schemas in oci_runtime/schemas):
    import oci_runtime.config.validate (oci_runtime.errors already imported):       0.22 / 0.30 ms   (budget 1 ms)
    first validate_config() of the default `runc spec` config, including
      reading and parsing config.schema.json (0.2-0.3 ms of it):            0.33 / 0.44 ms   (budget 3 ms)
    further validate_config() calls of the same document:                    0.13 / 0.18 ms
Under ``python -S`` the numbers are the same except that the first schema load also pays a one-time
``import os`` (~1 ms) that the rest of the runtime needs anyway.  Without a .pyc (a checkout run with
PYTHONDONTWRITEBYTECODE=1) the import costs ~4 ms of source compilation.  The fixture is
``runc_spec_config()`` in tests/unit/test_validate.py; time it the same way after changing the schemas or
this interpreter.
"""

from oci_runtime.errors import ConfigError, OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from re import Pattern
    from typing import Any, TypeAlias

    Schema: TypeAlias = "Any"  # a JSON Schema: an object (dict), or true / false
    Problems: TypeAlias = "list[tuple[str, str]]"  # (JSON pointer, message)

# The JSON Schema keywords this interpreter understands.  Anything else in a schema must be an annotation
# (title, description, $comment, $schema, x-expected); tests/unit/test_validate.py enforces that, so a schema
# edit cannot silently rely on an unimplemented keyword.
SUPPORTED_KEYWORDS = frozenset({
    "$ref", "type", "enum", "const",
    "pattern", "minLength",
    "minimum", "maximum",
    "items", "minItems",
    "properties", "additionalProperties", "required", "dependentRequired", "propertyNames",
    "anyOf", "oneOf", "allOf", "if", "then", "else",
})
ANNOTATION_KEYWORDS = frozenset({"$schema", "$comment", "$defs", "title", "description", "x-expected"})

_SCHEMA_FILE_NAMES = {
    "config": "config.schema.json",
    "state": "state.schema.json",
    "features": "features.schema.json",
}
_DOCUMENT_NAMES = {"config": "config.json", "state": "state.json", "features": "features.json"}

# schema name -> (root schema, {"#/$defs/...": resolved sub-schema})
_loaded_schemas: "dict[str, tuple[dict[str, Any], dict[str, Schema]]]" = {}
# regex source -> compiled regex, only for patterns without a predicate
_compiled_patterns: "dict[str, Pattern[str]]" = {}

_JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean",
                    int: "integer", float: "number", type(None): "null"}
_EXPECTED_TYPE_WORDING = {"object": "an object", "array": "an array", "string": "a string",
                          "integer": "an integer", "number": "a number", "boolean": "a boolean",
                          "null": "null"}


def _schema_directories() -> "tuple[str, str]":
    """Installed package first (pyproject maps oci_runtime.schemas to schemas/), then a source checkout."""
    import os      # here, not at module level: without site (python -S) even `os` is not preloaded

    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return (os.path.join(package_dir, "schemas"), os.path.join(os.path.dirname(package_dir), "schemas"))


def load_schema(schema_name: str) -> "dict[str, Any]":
    """Return the parsed schema ``config``, ``state`` or ``features``, reading it on first use only."""
    cached = _loaded_schemas.get(schema_name)
    if cached is not None:
        return cached[0]
    file_name = _SCHEMA_FILE_NAMES.get(schema_name)
    if file_name is None:
        raise ValueError(f"unknown schema {schema_name!r} (known: {', '.join(sorted(_SCHEMA_FILE_NAMES))})")

    from oci_runtime.kernel import hotpath

    searched: "list[str]" = []
    for directory in _schema_directories():
        path = f"{directory}/{file_name}"
        try:
            with open(path, "rb") as schema_file:
                schema: "dict[str, Any]" = hotpath.loads(schema_file.read())
        except FileNotFoundError:
            searched.append(path)
            continue
        except OSError as exc:
            raise OCIError.from_os(f"reading schema {path}", exc) from exc
        except ValueError as exc:      # hotpath.loads's parse errors; a broken installation, not a user error
            raise OCIError(f"schema {path}: invalid JSON: {exc}") from exc
        _loaded_schemas[schema_name] = (schema, {})
        return schema
    raise OCIError(f"schema {file_name} not found (looked in {', '.join(searched)})")


def errors(document: object, schema_name: str) -> "Problems":
    """Every schema violation in ``document`` as ``[(json_pointer, message), ...]``; empty when valid."""
    schema = load_schema(schema_name)
    checker = _SchemaChecker(schema, _loaded_schemas[schema_name][1])
    checker.check(document, schema, "")
    return checker.problems


def validate_config(document: object) -> None:
    """Raise OCIError naming the first problem of a parsed config.json; return None when it passes.

    Checks that this runtime supports the declared ociVersion first (a newer major or minor may use fields
    we would silently ignore), then the schema.  Rules a schema cannot express (duplicate namespaces or
    rlimits, cross-field constraints) are checked by oci_runtime.config.model.
    """
    version = document.get("ociVersion") if type(document) is dict else None
    if type(version) is str:
        version_problem = _unsupported_version_problem(version)
        if version_problem is not None:
            raise ConfigError(f"config.json: /ociVersion: {version_problem}", "/ociVersion")
    _raise_first("config", errors(document, "config"))


def validate_state(document: object) -> None:
    """Raise OCIError naming the first problem of a container state document."""
    _raise_first("state", errors(document, "state"))


def validate_features(document: object) -> None:
    """Raise OCIError naming the first problem of a features structure."""
    _raise_first("features", errors(document, "features"))


def _raise_first(schema_name: str, problems: "Problems") -> None:
    if problems:
        pointer, message = problems[0]
        error_type = ConfigError if schema_name == "config" else OCIError
        raise error_type(f"{_DOCUMENT_NAMES[schema_name]}: {pointer or '/'}: {message}")


def supported_version_range() -> "tuple[str, str]":
    """(oldest, newest) spec versions accepted in config.json, e.g. ('1.0.0', '1.3.x')."""
    from oci_runtime import OCI_VERSION

    major, minor = OCI_VERSION.split(".")[:2]
    return "1.0.0", f"{major}.{minor}.x"


def _unsupported_version_problem(version: str) -> str | None:
    """A message if ``version`` is a version this runtime does not implement; None if supported or if it
    is not even ``X.Y...`` (the schema reports malformed versions with a better message)."""
    from oci_runtime import OCI_VERSION

    major, _, rest = version.partition(".")
    minor = rest.partition(".")[0]
    if not (major.isascii() and major.isdigit() and minor.isascii() and minor.isdigit()):
        return None
    supported_major, supported_minor = (int(part) for part in OCI_VERSION.split(".")[:2])
    if int(major) == supported_major and int(minor) <= supported_minor:
        return None
    oldest, newest = supported_version_range()
    return f"unsupported version {_quote(version)} (supported: {oldest} to {newest})"


_JSON_STRING_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _quote(value: object, limit: int = 60) -> str:
    """A JSON rendering of a scalar for messages, shortened so one bad value cannot flood the line."""
    if type(value) is str:
        text = '"' + "".join(
            _JSON_STRING_ESCAPES.get(char) or (char if char >= " " else f"\\u{ord(char):04x}") for char in value
        ) + '"'
        if len(text) > limit:
            return text[:limit - 4] + '..."'      # keep it recognisable as a (cut) string
        return text
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _describe(value: object) -> str:
    """How a rejected value is shown after 'got': scalars verbatim, containers by their JSON type."""
    if type(value) is dict:
        return "an object"
    if type(value) is list:
        return "an array"
    return _quote(value)


def _has_type(value: object, json_type: str) -> bool:
    value_type = type(value)
    if json_type == "integer":
        return value_type is int          # bool is not int here: type(True) is bool
    if json_type == "number":
        return value_type is int or value_type is float
    return _JSON_TYPE_NAMES.get(value_type) == json_type


def _is_ascii_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_semver_number(text: str) -> bool:
    """SemVer numeric identifier: digits without a leading zero."""
    return _is_ascii_number(text) and (text == "0" or text[0] != "0")


def _is_semver_identifier_text(text: str) -> bool:
    """Non-empty run of [0-9A-Za-z-]."""
    return text != "" and text.isascii() and text.replace("-", "a").isalnum()


def _is_semver(text: str) -> bool:
    """SemVer 2.0.0: MAJOR.MINOR.PATCH, optional -pre.release (numeric parts without leading zeros) and
    optional +build.metadata.  Equivalent to the SemVer pattern in our schemas."""
    version, has_build, build = text.partition("+")
    if has_build and not all(_is_semver_identifier_text(part) for part in build.split(".")):
        return False
    core, has_prerelease, prerelease = version.partition("-")
    if has_prerelease:
        for part in prerelease.split("."):
            if not _is_semver_identifier_text(part) or (part.isdigit() and not _is_semver_number(part)):
                return False
    numbers = core.split(".")
    return len(numbers) == 3 and all(_is_semver_number(number) for number in numbers)


def _is_hugepage_size(text: str) -> bool:
    """<size><K|M|G|T|P|E>B with a size that has no leading zero, e.g. 64KB, 2MB, 1GB."""
    size = text[:-2]
    return (text.endswith("B") and len(text) >= 3 and text[-2] in "KMGTPE"
            and _is_ascii_number(size) and size[0] != "0")


SEMVER_PATTERN = (
    "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)"
    "(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    "(\\+[0-9a-zA-Z-]+(\\.[0-9a-zA-Z-]+)*)?$"
)

# Pattern text exactly as written in schemas/*.json -> equivalent predicate (ECMA-262 '$' semantics).
_PATTERN_PREDICATES: "dict[str, Callable[[str], bool]]" = {
    "^/": lambda text: text.startswith("/"),
    SEMVER_PATTERN: _is_semver,
    "^[1-9][0-9]*[KMGTPE]B$": _is_hugepage_size,
    "^[rwm]*$": lambda text: not text.strip("rwm"),
    "^MB:[^\\n]*$": lambda text: text.startswith("MB:") and "\n" not in text,
    "^[^\\n]*$": lambda text: "\n" not in text,
}


def _matches(pattern: str, text: str) -> bool:
    predicate = _PATTERN_PREDICATES.get(pattern)
    if predicate is not None:
        return predicate(text)
    regex = _compiled_patterns.get(pattern)
    if regex is None:
        import re      # only for a pattern without a predicate; see the module docstring

        regex = _compiled_patterns[pattern] = re.compile(pattern)
    return regex.search(text) is not None


def _child(pointer: str, key: object) -> str:
    """JSON pointer of ``key`` under ``pointer`` (RFC 6901 escaping of '~' and '/')."""
    if type(key) is str and ("~" in key or "/" in key):
        key = key.replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{key}"


class _SchemaChecker:
    """One validation run: walks a document alongside a schema and records (pointer, message) problems."""

    def __init__(self, root_schema: "dict[str, Any]", resolved_refs: "dict[str, Schema]") -> None:
        self.root_schema = root_schema
        self.resolved_refs = resolved_refs   # shared per schema file, so a ref is resolved once per process
        self.problems: Problems = []

    def check(self, value: "Any", schema: "Schema", pointer: str) -> None:
        if schema is True:
            return
        if schema is False:
            self.problems.append((pointer, "is not allowed"))
            return

        reference = schema.get("$ref")
        if reference is not None:
            self.check(value, self._resolve(reference), pointer)

        expected_type = schema.get("type")
        if expected_type is not None:
            if type(expected_type) is list:
                type_ok = any(_has_type(value, one_type) for one_type in expected_type)
            else:
                type_ok = _has_type(value, expected_type)
            if not type_ok:
                # Nothing else about a value of the wrong type is worth reporting.
                self.problems.append((pointer, f"must be {self._type_wording(expected_type)} "
                                               f"(got {_describe(value)})"))
                return

        if "enum" in schema:
            allowed = schema["enum"]
            if not any(_json_equal(value, candidate) for candidate in allowed):
                self.problems.append((pointer, f"must be one of {_enum_wording(allowed)} "
                                               f"(got {_describe(value)})"))
                return
        if "const" in schema and not _json_equal(value, schema["const"]):
            self.problems.append((pointer, f"must be {_quote(schema['const'])} (got {_describe(value)})"))
            return

        value_type = type(value)
        if value_type is dict:
            self._check_object(value, schema, pointer)
        elif value_type is list:
            self._check_array(value, schema, pointer)
        elif value_type is str:
            self._check_string(value, schema, pointer)
        elif value_type is int or value_type is float:
            self._check_number(value, schema, pointer)

        if "anyOf" in schema or "oneOf" in schema or "allOf" in schema or "if" in schema:
            self._check_combinators(value, schema, pointer)

    def _resolve(self, reference: str) -> "Schema":
        resolved: Schema = self.resolved_refs.get(reference)
        if resolved is None:
            if not reference.startswith("#/"):
                raise ValueError(f"schema reference {reference!r}: only local '#/...' references are supported")
            resolved = self.root_schema
            for token in reference[2:].split("/"):
                resolved = resolved[token.replace("~1", "/").replace("~0", "~")]
            self.resolved_refs[reference] = resolved
        return resolved

    @staticmethod
    def _type_wording(expected_type: "Any") -> str:  # a schema's "type": a name or a list
        if type(expected_type) is list:
            return " or ".join(_EXPECTED_TYPE_WORDING[one_type] for one_type in expected_type)
        return _EXPECTED_TYPE_WORDING[expected_type]

    def _check_object(self, value: "dict[str, Any]", schema: "Schema", pointer: str) -> None:
        problems = self.problems
        for name in schema.get("required", ()):
            if name not in value:
                problems.append((_child(pointer, name), "missing required property"))
        dependent_required = schema.get("dependentRequired")
        if dependent_required:
            for trigger, needed_names in dependent_required.items():
                if trigger in value:
                    for name in needed_names:
                        if name not in value:
                            problems.append((_child(pointer, name), f"must be set when {trigger} is set"))

        properties = schema.get("properties", {})
        additional = schema.get("additionalProperties")
        for name, member in value.items():
            member_schema = properties.get(name)
            if member_schema is None:
                member_schema = additional
                if member_schema is None:
                    continue          # unknown properties are ignored, as the spec requires
            self.check(member, member_schema, _child(pointer, name))

        name_schema = schema.get("propertyNames")
        if name_schema is not None:
            for name in value:
                first_new = len(problems)
                self.check(name, name_schema, _child(pointer, name))
                for index in range(first_new, len(problems)):
                    where, message = problems[index]
                    problems[index] = (where, f"property name {message}")

    def _check_array(self, value: "list[Any]", schema: "Schema", pointer: str) -> None:
        minimum_items = schema.get("minItems")
        if minimum_items is not None and len(value) < minimum_items:
            message = ("must be a non-empty array" if minimum_items == 1
                       else f"must have at least {minimum_items} items (got {len(value)})")
            self.problems.append((pointer, message))
        item_schema = schema.get("items")
        if item_schema is not None:
            for index, item in enumerate(value):
                self.check(item, item_schema, f"{pointer}/{index}")

    def _check_string(self, value: str, schema: "Schema", pointer: str) -> None:
        minimum_length = schema.get("minLength")
        if minimum_length is not None and len(value) < minimum_length:
            message = ("must be a non-empty string" if minimum_length == 1
                       else f"must be at least {minimum_length} characters long")
            self.problems.append((pointer, message))
        pattern = schema.get("pattern")
        if pattern is not None and not _matches(pattern, value):
            expected = schema.get("x-expected")
            requirement = expected if expected is not None else f"a string matching {pattern}"
            self.problems.append((pointer, f"must be {requirement} (got {_quote(value)})"))

    def _check_number(self, value: float, schema: "Schema", pointer: str) -> None:
        lowest = schema.get("minimum")
        highest = schema.get("maximum")
        if (lowest is not None and value < lowest) or (highest is not None and value > highest):
            if lowest is not None and highest is not None:
                bounds = f"between {lowest} and {highest}"
            elif lowest is not None:
                bounds = f"at least {lowest}"
            else:
                bounds = f"at most {highest}"
            self.problems.append((pointer, f"must be {bounds} (got {_quote(value)})"))

    def _passes(self, value: "Any", schema: "Schema", pointer: str) -> bool:
        """Whether ``value`` satisfies ``schema``, recording nothing."""
        first_new = len(self.problems)
        self.check(value, schema, pointer)
        passed = len(self.problems) == first_new
        del self.problems[first_new:]
        return passed

    def _check_combinators(self, value: "Any", schema: "Schema", pointer: str) -> None:
        for member_schema in schema.get("allOf", ()):
            self.check(value, member_schema, pointer)

        alternatives = schema.get("anyOf")
        if alternatives is not None and not any(self._passes(value, branch, pointer) for branch in alternatives):
            self.problems.append((pointer, self._no_alternative_wording(value, alternatives, pointer)))

        alternatives = schema.get("oneOf")
        if alternatives is not None:
            matching = sum(1 for branch in alternatives if self._passes(value, branch, pointer))
            if matching == 0:
                self.problems.append((pointer, self._no_alternative_wording(value, alternatives, pointer)))
            elif matching > 1:
                self.problems.append((pointer, f"must match exactly one of {len(alternatives)} allowed forms "
                                               f"(matches {matching})"))

        condition = schema.get("if")
        if condition is not None:
            branch = schema.get("then") if self._passes(value, condition, pointer) else schema.get("else")
            if branch is not None:
                self.check(value, branch, pointer)

    def _no_alternative_wording(self, value: "Any", alternatives: "Sequence[Schema]",
                                pointer: str) -> str:
        # The common case in our schemas is "at least one of these properties": say exactly that.
        if all(set(branch) == {"required"} and len(branch["required"]) == 1 for branch in alternatives):
            names = ", ".join(branch["required"][0] for branch in alternatives)
            return f"must set at least one of {names}"
        first_new = len(self.problems)
        self.check(value, alternatives[0], pointer)
        first_reason = self.problems[first_new] if len(self.problems) > first_new else (pointer, "")
        del self.problems[first_new:]
        return (f"does not match any of {len(alternatives)} allowed forms "
                f"(first form: {first_reason[0] or '/'}: {first_reason[1]})")


def _json_equal(value: object, expected: object) -> bool:
    """JSON equality: 1 == 1.0 but True != 1, which Python's == alone would conflate."""
    if type(value) is bool or type(expected) is bool:
        return type(value) is type(expected) and value == expected
    return value == expected


def _enum_wording(allowed: "Sequence[Any]") -> str:
    if all(type(candidate) is str for candidate in allowed):
        return ", ".join(sorted(allowed))
    return ", ".join(_quote(candidate) for candidate in allowed)
