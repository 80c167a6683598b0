"""``python -m sim.face.dashboard [--scenario FILE] [--port P]``: serve the dashboard."""

from sim.face.dashboard.server import main

raise SystemExit(main())
