"""POSIX-platform hooks run by the runtime (runner.py); the ones run inside the container are
executor steps (plan/process.py)."""
