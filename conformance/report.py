"""Print which spec clauses oci-runtime has tests for: `python conformance/report.py`."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    sys.path.insert(0, HERE)
    import ast

    rows = []
    for name in sorted(os.listdir(HERE)):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        tree = ast.parse(open(os.path.join(HERE, name)).read())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                for decorator in node.decorator_list:
                    if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", "") == "clause":
                        spec_file, section, requirement = (a.value for a in decorator.args)
                        rows.append((spec_file, section, requirement, f"{name}::{node.name}"))
    for spec_file, section, requirement, test in rows:
        print(f"{spec_file} | {section} | {requirement} | {test}")
    if "--run" in sys.argv:
        return subprocess.call([sys.executable, "-m", "pytest", "-q", HERE])
    return 0


if __name__ == "__main__":
    sys.exit(main())
