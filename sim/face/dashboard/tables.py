"""HTML fragments of the dashboard: the year-end shares table and the fit to history. The numbers
are in ``data-*`` attributes too, so the page (and a test) can read them."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np

from sim.face.dashboard.results import year_end_table, year_index
from sim.face.palette import CLIENT_NAMES, STANCE_COLORS
from sim.kernel.actors import CLIENTS, STANCES


def shares_table_html(result: dict[str, Any], year: int) -> str:
    """A table of year-end stance shares per client for ``year``, with history's accepted stances.

    The table carries the numbers as ``data-*`` attributes too: ``data-year`` and ``data-key`` on
    the table, ``data-client`` and ``data-rus``/``data-west``/``data-chn``/``data-nonaligned`` on
    each row, and every year's shares as JSON in ``data-all``.
    """
    i = year_index(result, year)
    y = int(result["years"][i])
    targets = result["targets"]
    rows = []
    for c, code in enumerate(CLIENTS):
        sh = result["year_end_shares"][i, c]
        span = targets.accepted(code, y)
        hist = "—" if span is None else "/".join(STANCES[k] for k in sorted(span.accepted)) + ("" if span.scored else " (transition)")
        modal = STANCES[int(np.argmax(sh))]
        attrs = " ".join(f'data-{s.lower()}="{float(sh[k]):.3f}"' for k, s in enumerate(STANCES))
        cells = "".join(
            f'<td class="num" style="background:{STANCE_COLORS[s]}{_alpha_hex(float(sh[k]))}">{float(sh[k]):.2f}</td>' for k, s in enumerate(STANCES)
        )
        rows.append(f'<tr data-client="{code}" {attrs}><td>{CLIENT_NAMES[code]}</td>{cells}<td>{modal}</td><td>{html.escape(hist)}</td></tr>')
    head = "".join(f"<th>{s}</th>" for s in STANCES)
    data_all = html.escape(json.dumps(year_end_table(result), separators=(",", ":")), quote=True)
    return (
        f'<table class="omni-table" data-omni="shares" data-year="{y}" data-key="{result["key"]}" data-all="{data_all}">'
        f"<tr><th>client</th>{head}<th>modal</th><th>history accepts</th></tr>{''.join(rows)}</table>"
    )

def _alpha_hex(v: float) -> str:
    return f"{int(round(40 + 160 * min(max(v, 0.0), 1.0))):02x}"

def fit_html(result: dict[str, Any]) -> str:
    """The fit to history for the current settings: hit rates and realignment timing."""
    fit = result["fit"]
    parts = ['<div data-omni="fit">']
    for actor, rate in fit["hit_rate"].items():
        if rate is None:
            continue
        yrs = fit["years"][actor]
        miss = ", ".join(f"{m['year']} ({m['modal']})" for m in yrs["misses"]) or "none"
        parts.append(
            f'<p data-actor="{actor}" data-hit-rate="{rate:.3f}"><b>{CLIENT_NAMES[actor]}</b>: the modal path matches history in '
            f"<b>{rate:.0%}</b> of {yrs['scored']} scored years (misses: {html.escape(miss)}).</p>"
        )
    parts.append("<table class='omni-table'><tr><th>history</th><th>event</th><th>model (modal path)</th><th>replicates within 1 year</th></tr>")
    for ev in fit["events"]:
        made = ev["modal_year"] if ev["modal_year"] is not None else "not made"
        ok = "✓" if ev["modal_within_1y"] else "✗"
        label = ev["event"].split(";")[0]
        parts.append(
            f"<tr><td>{ev['actor']} {ev['date'][:7]}</td><td>{html.escape(ev['from'])}→{html.escape(ev['to'])}: {html.escape(label)}</td>"
            f"<td>{made} {ok}</td><td class='num'>{ev['share_within_1y']:.0%}</td></tr>"
        )
    parts.append("</table><p class='omni-note'>Kyrgyzstan, Tajikistan and Turkmenistan have no targets: they are the out-of-sample check.</p></div>")
    return "".join(parts)
