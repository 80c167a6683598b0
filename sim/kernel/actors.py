"""The actors of the model and the discrete states they can be in.

Index order is fixed here and used by every array in the package: clients on
axis ``C``, patrons on axis ``P``, stances on axis ``S`` and threat kinds on
axis ``K``.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Stance(IntEnum):
    """A client's de facto alignment in a quarter."""

    RUS = 0
    WEST = 1
    CHN = 2
    NONALIGNED = 3


class Patron(IntEnum):
    """The great powers that court the clients (their index equals their stance's)."""

    RUS = 0
    WEST = 1
    CHN = 2


class Client(IntEnum):
    """The five Central Asian republics."""

    UZB = 0
    KAZ = 1
    KGZ = 2
    TJK = 3
    TKM = 4


class Threat(IntEnum):
    """Threats to a client regime's survival (David 1991: internal threats included).

    ``REGIME_CHANGE`` is the threat of an externally backed change of regime (a colour
    revolution the West is seen to back): it comes from a patron, and other patrons can
    protect against it (Fumagalli 2007).
    """

    INSURGENCY = 0
    UNREST = 1
    ELITE = 2
    EXTERNAL = 3
    REGIME_CHANGE = 4


class AllianceStatus(IntEnum):
    """A client's alliance with Russia across the de jure and de facto layers."""

    NONE = 0  # not a de jure member of the Russian-led military bloc
    TRUE = 1  # de jure member and de facto aligned with Russia
    PAPER = 2  # de jure member whose de facto stance is elsewhere


class Rule(StrEnum):
    """The decision rule client leaders follow."""

    OMNIBALANCING = "omnibalancing"
    BALANCE_OF_THREAT = "balance_of_threat"


STANCES: tuple[str, ...] = tuple(s.name for s in Stance)
PATRONS: tuple[str, ...] = tuple(p.name for p in Patron)
CLIENTS: tuple[str, ...] = tuple(c.name for c in Client)
THREATS: tuple[str, ...] = tuple(k.name.lower() for k in Threat)
ALLIANCE_STATUS: tuple[str, ...] = tuple(a.name.lower() for a in AllianceStatus)

N_STANCES = len(Stance)
N_PATRONS = len(Patron)
N_CLIENTS = len(Client)
N_THREATS = len(Threat)
