"""``python -m benchmarks``: the benchmark suite's command line."""

import sys

from .suite import main

sys.exit(main())
