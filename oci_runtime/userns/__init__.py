"""User namespaces: id maps written from outside (idmap.py) and rootless mode (rootless.py)."""
