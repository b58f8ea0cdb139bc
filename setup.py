# setuptools reads everything from pyproject.toml; cffi_modules has no pyproject spelling yet.
from setuptools import setup

setup(cffi_modules=["cext/build_kernel.py:ffibuilder"])
