"""``python -m sim``: the omnibalance command line."""

from sim.cli import main

raise SystemExit(main())
