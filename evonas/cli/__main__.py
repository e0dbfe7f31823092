"""``python -m evonas.cli``: the ``evonas`` command."""
import sys

from evonas.cli import main

sys.exit(main())
