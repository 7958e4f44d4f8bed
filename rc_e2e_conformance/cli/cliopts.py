"""The CLI's argument parser: one-line errors and exit status 2 for bad input."""
from __future__ import annotations

import argparse
import sys
from typing import NoReturn

#: Exit status for bad input (the same as "could not judge").
EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: a mistyped value must not bury its message under the usage block."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(EXIT_USAGE)
