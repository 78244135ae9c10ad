"""Run the flask command line, stopping for ever right after the first SQL statement
that matches a pattern: a fault test then kills the process at that exact point (in
the middle of its transaction) instead of guessing when it is there.

    python tests/faults/pause_at.py MARKER_FILE REGEX -- flask-arguments...

When the statement has run, MARKER_FILE is written and the process sleeps."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine


def main() -> None:
    marker, pattern, separator, *flask_args = sys.argv[1:]
    assert separator == "--", "usage: pause_at.py MARKER REGEX -- flask-arguments"
    matcher = re.compile(pattern, re.IGNORECASE)

    @event.listens_for(Engine, "after_cursor_execute")
    def pause(conn, cursor, statement, parameters, context, executemany):
        if matcher.search(statement):
            Path(marker).write_text("paused")
            time.sleep(3600)  # the test kills us here

    from flask.cli import main as flask_main

    sys.argv = ["flask", *flask_args]
    flask_main()


if __name__ == "__main__":
    main()
