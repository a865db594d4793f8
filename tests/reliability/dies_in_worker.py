"""A correct Sinh whose module kills the process that imports it, in fuzz's worker processes only (a
library that cannot be loaded twice, say): the parent loads it, each worker dies with status 5."""

import multiprocessing
import os
import sys

if multiprocessing.parent_process() is not None:
    os._exit(5)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from targets import Sinh  # noqa: E402,F401 - what the command line names
