"""`python -m dualtape`: the same command line as the `dualtape` script."""

import sys

from .cli import main

sys.exit(main())
