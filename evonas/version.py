"""The version of evonas (one place; setup.py and ``evonas --version`` read it)."""
__version__ = "0.2.0"

__all__ = ["__version__"]
