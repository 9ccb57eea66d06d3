"""Run localstripe's aiohttp app on 127.0.0.1 only, in memory (started by the test session).

localstripe's own command listens on every interface and pickles its store to /tmp after
each request; this keeps it private and stateless. Usage: python localstripe_server.py PORT
"""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe import resources, server


def main() -> None:
    port = int(sys.argv[1])
    resources.store.dump_to_disk = lambda: None
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
