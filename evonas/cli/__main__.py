"""``python -m evonas.cli``: the ``evonas`` command."""
import sys

from evonas.cli import main

__all__: list[str] = []

if __name__ == "__main__":  # not when a tool imports every module (pkgutil.walk_packages, API docs)
    sys.exit(main())
