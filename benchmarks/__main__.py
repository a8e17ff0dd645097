"""``python -m benchmarks``: run the suite and print the report."""

import sys

from benchmarks.run import main

sys.exit(main())
