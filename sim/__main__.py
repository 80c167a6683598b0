"""``python -m sim``: the omnibalance command line."""

from sim.face.cli import main

raise SystemExit(main())
