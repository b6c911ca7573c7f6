"""`python -m app.cli`: the `ragprep` command without its installed script."""

import sys

from app.cli import main

sys.exit(main())
