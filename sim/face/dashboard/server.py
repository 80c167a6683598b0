"""Serving the dashboard: Solara on 127.0.0.1, offline (``omnibalance dashboard``, ``python -m sim.face.dashboard``)."""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
from pathlib import Path

from sim.errors import OmnibalanceError

#: Environment variable through which :func:`serve` hands the ``--scenario`` file to the page.
SCENARIO_ENV = "OMNIBALANCE_DASHBOARD_SCENARIO"

DEFAULT_PORT = 8765

def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as uvicorn binds: a port left in TIME_WAIT by a server just stopped is free to reuse
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True

def free_port(host: str = "127.0.0.1") -> int:
    """A port on ``host`` that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])

def serve(scenario: Path | None = None, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> int:
    """Serve the dashboard with Solara on ``host:port`` until interrupted; prints its address first.

    Solara's outside calls are switched off: no version check, no telemetry, production mode (no
    solara.dev check frame); its JavaScript and CSS come from the locally installed
    ``solara-assets``, so the page works offline.

    Raises:
        OmnibalanceError: if the Solara packages are missing, the scenario file does not exist or
            fails validation (the message names its file, line and field), or the port is taken.
    """
    if scenario is not None:
        scenario = Path(scenario).expanduser().resolve()
        if not scenario.is_file():
            raise OmnibalanceError(f"scenario file not found: {scenario}")
        from sim.scenario.compile import compile_scenario
        from sim.scenario.loading import load_scenario

        compile_scenario(load_scenario(scenario))  # the same check as `omnibalance validate`, before serving it
        os.environ[SCENARIO_ENV] = str(scenario)
    if port == 0:
        port = free_port(host)
    if not 1 <= port <= 65535:
        raise OmnibalanceError(f"port must be between 1 and 65535, got {port}")
    if not _port_free(host, port):
        raise OmnibalanceError(f"port {port} on {host} is already in use (choose another with --port)")
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    import importlib.util
    import warnings

    for module in ("solara", "altair"):  # solara, and mesa[viz]'s altair (mesa.visualization imports it)
        if importlib.util.find_spec(module) is None:
            raise OmnibalanceError(f"the dashboard needs the 'dashboard' extra ({module} is missing): pip install -e \".[dashboard]\"")
    import solara.server.settings as solara_settings
    from solara.__main__ import run as solara_run

    # Plain http on loopback: Solara warns that it falls back to samesite=lax cookies, which is right here.
    warnings.filterwarnings("ignore", message=r"Cookies with samesite=none require https", category=UserWarning)
    solara_settings.telemetry.mixpanel_enable = False
    print(f"omnibalance dashboard: http://{host}:{port}/", flush=True)
    args = ["sim.face.dashboard.app", "--host", host, "--port", str(port), "--no-open", "--production", "--no-check-version"]
    with contextlib.suppress(KeyboardInterrupt):
        solara_run.main(args=args, prog_name="solara run", standalone_mode=False)
    return 0

def main(argv: list[str] | None = None) -> int:
    """``python -m sim.face.dashboard [--scenario FILE] [--port P]``."""
    p = argparse.ArgumentParser(prog="python -m sim.face.dashboard", description="Serve the omnibalance student dashboard on 127.0.0.1.")
    p.add_argument("--scenario", type=Path, default=None, help="scenario to open first (default scenarios/history.yaml)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    args = p.parse_args(argv)
    try:
        return serve(args.scenario, args.port)
    except OmnibalanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
