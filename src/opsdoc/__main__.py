"""``python -m opsdoc``."""

import sys

from opsdoc.cli import main

sys.exit(main())
