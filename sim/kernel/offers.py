"""The patrons' offers: each patron's rule for rents, protection, sovereignty demands and exposure.

Pure, vectorised functions over ``[b, C, ...]`` arrays; a Mesa patron agent applies its own
rule, the ensemble applies all of them at once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.kernel.actors import Patron
from sim.kernel.environment import Environment
from sim.kernel.params import Theta


@dataclass
class Offers:
    """What each patron offers each client this quarter; arrays ``[b, C, P, ...]``."""

    rents: np.ndarray  # [b, C, P]
    courting: np.ndarray  # [b, C, P] extra rents for a client that drifted away last quarter
    protection: np.ndarray  # [b, C, P, K]
    sovereignty: np.ndarray  # [b, C, P]
    exposure: np.ndarray  # [b, C, P] how much aligning with p worsens the regime-change threat

    def client(self, c: int) -> Offers:
        """These offers restricted to client ``c`` (axis 1 kept, length 1)."""
        return Offers(**{f.name: getattr(self, f.name)[:, c : c + 1] for f in fields(self)})

    def take(self, index: np.ndarray) -> Offers:
        """The offers of rows ``index`` (one per run, from one per setting)."""
        return Offers(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

@dataclass
class PatronOffer:
    """One patron's offer to every client; arrays ``[b, C, ...]``."""

    rents: np.ndarray
    courting: np.ndarray
    protection: np.ndarray
    sovereignty: np.ndarray
    exposure: np.ndarray

def russia_offer(env: Environment, th: Theta) -> PatronOffer:
    """Russia: rents and protection follow its oil-driven means; it courts clients that drifted
    away last quarter (extra rents) and raises integration demands (sovereignty cost) when rich."""
    rents = th.rent_rus * env.means
    capacity = np.minimum(env.means, 1.0)
    protection = th.protection[:, None, Patron.RUS, :] * capacity[..., None]
    sovereignty = th.sovereignty_rus * env.means**th.demand_elasticity
    return PatronOffer(rents, rents * th.court * env.courting, protection, sovereignty, np.zeros_like(rents))

def west_offer(env: Environment, th: Theta) -> PatronOffer:
    """The West: rents follow its Afghan logistics need; its protection against insurgency and
    external threats follows its military engagement in the region; aligning with it exposes the
    regime to its democracy agenda."""
    rents = th.rent_west * env.need + th.aid_west
    protection = th.protection[:, None, Patron.WEST, :] * env.engagement[..., None]
    sovereignty = th.sovereignty_west * env.need
    exposure = np.broadcast_to(th.exposure, rents.shape)
    return PatronOffer(rents, np.zeros_like(rents), protection, np.broadcast_to(sovereignty, rents.shape), exposure)

def china_offer(env: Environment, th: Theta) -> PatronOffer:
    """China: economic weight that grows with its capability and its pipelines; little protection."""
    rents = th.rent_chn * env.china_weight
    protection = np.broadcast_to(th.protection[:, None, Patron.CHN, :], env.threat.shape)
    sovereignty = np.broadcast_to(th.sovereignty_chn, rents.shape)
    return PatronOffer(rents, np.zeros_like(rents), protection, sovereignty, np.zeros_like(rents))

#: Each patron's offer rule, in ``Patron`` order.
OFFER_RULES = (russia_offer, west_offer, china_offer)

def stack_offers(offers: list[PatronOffer]) -> Offers:
    """Combine the patrons' offers (in ``Patron`` order) into one :class:`Offers`."""
    return Offers(**{f.name: np.stack([getattr(o, f.name) for o in offers], axis=2) for f in fields(Offers)})

def patron_offers(env: Environment, th: Theta) -> Offers:
    """All patrons' offers to all clients."""
    return stack_offers([rule(env, th) for rule in OFFER_RULES])
