"""Run the try-on command line: `python -m ar --help`."""

from ar.cli import main

raise SystemExit(main())
