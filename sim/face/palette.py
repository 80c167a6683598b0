"""One palette for every figure and table: the colours and names of stances, alliance statuses and clients."""

from __future__ import annotations

from sim.kernel.actors import ALLIANCE_STATUS

#: Colour of each stance (RUS, WEST, CHN, NONALIGNED).
STANCE_COLORS: dict[str, str] = {"RUS": "#c0392b", "WEST": "#2471a3", "CHN": "#d4ac0d", "NONALIGNED": "#95a5a6"}
#: Plain-language stance names (the dashboard's legends).
STANCE_LABELS: dict[str, str] = {"RUS": "Russia", "WEST": "West", "CHN": "China", "NONALIGNED": "nonaligned"}
#: Short stance names where space is tight.
STANCE_SHORT: dict[str, str] = {"RUS": "RUS", "WEST": "WEST", "CHN": "CHN", "NONALIGNED": "NA"}
#: Alliance status with Russia, in ``AllianceStatus`` order (none, true, paper).
STATUS_NAMES: tuple[str, ...] = ALLIANCE_STATUS
STATUS_COLORS: dict[str, str] = {"true": "#922b21", "paper": "#f1948a", "none": "#e5e7e9"}
STATUS_LABELS: dict[str, str] = {"true": "true alliance (de jure and de facto)", "paper": "paper alliance (de jure only)", "none": "no alliance with Russia"}
CLIENT_NAMES: dict[str, str] = {"UZB": "Uzbekistan", "KAZ": "Kazakhstan", "KGZ": "Kyrgyzstan", "TJK": "Tajikistan", "TKM": "Turkmenistan"}
#: Lines and marks that are not a stance: key shocks, a model's curve, samples and histograms.
SHOCK_COLOR = "#7f8c8d"
MODEL_COLOR = "#c0392b"
SAMPLE_COLOR = "#2471a3"
HIST_COLOR = "#5d6d7e"
