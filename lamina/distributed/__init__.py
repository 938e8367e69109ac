"""``python -m lamina.distributed --processes N script.py [args]``: a job of N local processes for trying
multi-process training on one machine (``lamina.distributed.launch`` does the same from Python).

Each process runs the same script with ``KERAS_DISTRIBUTION_JOB_ADDRESSES``,
``KERAS_DISTRIBUTION_NUM_PROCESSES`` and ``KERAS_DISTRIBUTION_PROCESS_ID`` set, so that
``lamina.distribution.initialize()`` joins them. Their output comes back line by line, prefixed ``[p0]``,
``[p1]``, ...; when one fails the others are stopped, and the launcher returns the failing exit code.

>>> import sys
>>> launch(1, ["-c", "print('hello')"], python=sys.executable, stdout=sys.stdout)
[p0] hello
0
"""

from lamina.distributed.launcher import free_port, launch, main

__all__ = ["free_port", "launch", "main"]
