"""The container layer, the public Python API: `Runtime`, `Container` and `Process` (api.py) over
the state store (store.py); create, exec and the lifecycle of a stored container.  Empty on purpose:
`state`, `start` and `kill` import this package and must not pay for create's modules."""
