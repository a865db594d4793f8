"""A correct Sinh whose module kills, half a second after it is imported, a process of fuzz's workers
(a library that cannot be loaded twice, say): the parent loads it, each worker dies with status 5
mid-run. (Not at import: trigrad imports a module in a forked child first and reports one that exits
there as bad usage, tests/reliability/test_import_guard.py; the child leaves before the timer fires.)"""

import multiprocessing
import os
import sys
import threading

if multiprocessing.parent_process() is not None:
    threading.Timer(0.5, os._exit, (5,)).start()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targets import Sinh  # noqa: E402,F401 - what the command line names
