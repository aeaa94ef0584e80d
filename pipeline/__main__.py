"""`python -m pipeline`: the same as the `wavecurate` command."""

import sys

from pipeline.cli import main

sys.exit(main())
