"""``python -m pipeline.bench``: the speed, memory and index benchmarks (`make bench`)."""

import sys

from pipeline.bench.speed import main

sys.exit(main())
