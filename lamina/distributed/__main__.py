"""Entry point of ``python -m lamina.distributed``."""

import sys

from lamina.distributed.launcher import main

sys.exit(main())
