"""`python -m assistant ...`: the same command line as the `assistant` script."""

from .cli import entry

entry()
