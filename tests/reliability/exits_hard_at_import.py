"""A module that ends the process with os._exit as it is imported, after printing a line: no exception
for the importer to catch. The status is $EXIT_STATUS (default 3; 0 looks like success)."""

import os

print("exits_hard_at_import: leaving now")
os._exit(int(os.environ.get("EXIT_STATUS", "3")))
