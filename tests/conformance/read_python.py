"""Read dotenv files with python-dotenv's dotenv_values(), as tests/conformance.rs asks.

argv: "interpolate" or "raw" (interpolate=False), then a JSON file holding a list of paths.
Prints one JSON object: {path: {"vars": {name: value or null}, "errors": [warning, ...]}}.
python-dotenv reports a line it cannot parse as a warning on its logger and goes on; the
warnings are collected per file so that the suite can tell a skipped line from a wrong value.
"""

import json
import logging
import sys

from dotenv import dotenv_values


class Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


handler = Collect()
logger = logging.getLogger("dotenv")
logger.addHandler(handler)
logger.setLevel(logging.WARNING)
logger.propagate = False

interpolate = {"interpolate": True, "raw": False}[sys.argv[1]]
with open(sys.argv[2], encoding="utf-8") as f:
    paths = json.load(f)
out = {}
for path in paths:
    handler.messages = []
    values = dotenv_values(path, interpolate=interpolate, encoding="utf-8")
    out[path] = {"vars": dict(values), "errors": list(handler.messages)}
sys.stdout.write(json.dumps(out, ensure_ascii=True))
