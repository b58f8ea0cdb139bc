"""The plan compiler: pure functions from a config to flat executor steps (model.py); create.py and
exec.py share process.py, the steps that prepare a process; show.py prints a plan."""
