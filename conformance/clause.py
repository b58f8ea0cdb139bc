"""Tagging conformance tests with the spec clause they check.

    @clause("runtime.md", "Query State", "MUST generate an error if it is not provided the ID")
    def test_...

`python conformance/report.py` lists every tagged clause with its test (collected by pytest)."""
import pytest


def clause(spec_file, section, requirement):
    return pytest.mark.clause(spec_file=spec_file, section=section, requirement=requirement)
