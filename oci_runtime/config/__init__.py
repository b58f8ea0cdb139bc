"""config.json: read (load.py), validated against our schema (validate.py), checked for what a
schema cannot say and exposed as a typed model (model.py); the config `spec` writes (default_spec.py).
Only create, run, exec and check import this package's modules; it is empty so that importing one
of them loads nothing else."""
