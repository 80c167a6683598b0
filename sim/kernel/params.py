"""The model's global parameters: one typed object, every field documented.

Each field's description says what it means; ``docs/model.md`` gives the
equation it enters and its source. No parameter is specific to one country:
countries differ only through the structural inputs of the scenario.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class ThreatTable(BaseModel):
    """Protection a patron offers against each threat kind, in [0, 1]."""

    model_config = ConfigDict(extra="forbid")

    insurgency: float = Field(ge=0, le=1)
    unrest: float = Field(ge=0, le=1)
    elite: float = Field(ge=0, le=1)
    external: float = Field(ge=0, le=1)
    regime_change: float = Field(ge=0, le=1)

    def as_list(self) -> list[float]:
        """Values in ``Threat`` order."""
        return [self.insurgency, self.unrest, self.elite, self.external, self.regime_change]


class Protection(BaseModel):
    """Full-strength protection ``pi0[p, k]`` of each patron against each threat.

    Russia and China share the incumbents' status-quo norms and protect against a
    Western-backed regime change; the West does not (its alignment worsens that threat,
    see ``ModelParams.exposure``). No patron protects against plain domestic unrest: none
    sent forces against protest in 1991-2016, and the political backing Russia and China
    gave incumbents is the regime-change column (``docs/model.md``, section 2.3).
    """

    model_config = ConfigDict(extra="forbid")

    RUS: ThreatTable = ThreatTable(insurgency=0.4, unrest=0.0, elite=0.4, external=0.7, regime_change=0.7)
    WEST: ThreatTable = ThreatTable(insurgency=0.7, unrest=0.0, elite=0.0, external=0.5, regime_change=0.0)
    CHN: ThreatTable = ThreatTable(insurgency=0.1, unrest=0.0, elite=0.0, external=0.1, regime_change=0.3)

    def as_matrix(self) -> list[list[float]]:
        """A ``[P, K]`` nested list in ``Patron`` x ``Threat`` order."""
        return [self.RUS.as_list(), self.WEST.as_list(), self.CHN.as_list()]


class ModelParams(BaseModel):
    """Global behavioural parameters (see ``docs/model.md``).

    The defaults were set by hand after exploratory fits of the reworked model (issue 11); the
    shipped calibration (``calibration/calibrated.yaml``, read by ``scenarios/history.yaml``)
    replaces the ones it fits.
    """

    model_config = ConfigDict(extra="forbid")

    # --- choice ---------------------------------------------------------------------------
    beta: float = Field(40.0, gt=0, le=200, description="Choice precision of the quantal response (1/noise).")
    chi: float = Field(0.14, ge=0, le=5, description="Cost of switching stance from the previous quarter.")
    noise_sd: float = Field(0.08, ge=0, le=2, description="Standard deviation of a leader's persistent preference shock for each stance (utility units).")
    noise_persistence: float = Field(0.9, ge=0, lt=1, description="Quarterly autocorrelation of the preference shock (AR(1)); 0 = independent each quarter.")
    # --- omnibalancing threat term ---------------------------------------------------------
    tau: float = Field(6.0, ge=0, le=50, description="Threat salience: how strongly the most pressing threat dominates.")
    rho: float = Field(0.6, gt=0, le=5, description="Regime hazard per unit of weighted effective threat.")
    internal_threats: bool = Field(True, description="Whether internal threats enter the hazard (off = ablation).")
    hostility: float = Field(0.6, ge=0, le=5, description="Regime-change threat per unit of Western normative pressure (before contagion).")
    exposure: float = Field(1.5, ge=0, le=5, description="How much aligning with the West worsens the regime-change threat (a share of it).")
    unrest_from_closure: float = Field(0.2, ge=0, le=5, description="Latent unrest threat per unit of regime closure.")
    elite_base: float = Field(0.1, ge=0, le=5, description="Baseline elite (coup, succession) threat.")
    succession_threat: float = Field(0.4, ge=0, le=5, description="Elite threat added by a change of a client's leader (halves each year).")
    # --- rents, sovereignty, dependence, self-reliance ----------------------------------------
    gamma: float = Field(0.9, ge=0, le=5, description="Weight of patron rents in the leader's utility.")
    rent_rus: float = Field(0.25, ge=0, le=5, description="Russia's rents per unit of its oil-driven means.")
    rent_west: float = Field(0.6, ge=0, le=5, description="Western rents per unit of Afghan logistics need.")
    aid_west: float = Field(0.1, ge=0, le=5, description="Western baseline aid, independent of need.")
    rent_chn: float = Field(0.1, ge=0, le=5, description="China's rents per unit of its economic weight.")
    nonaligned_share: float = Field(0.25, ge=0, le=1, description="Share of Russia's and the West's rents a nonaligned client still receives.")
    nonaligned_share_chn: float = Field(0.5, ge=0, le=1, description="Share of China's rents (trade, loans, pipelines) a nonaligned client still receives: China attaches no political conditions.")
    court: float = Field(0.9, ge=0, le=5, description="Russia's extra rents for a client that has drifted away (courting).")
    sovereignty_rus: float = Field(0.45, ge=0, le=5, description="Sovereignty cost of Russia's integration demands at unit means.")
    demand_elasticity: float = Field(0.8, ge=0, le=3, description="Elasticity of Russia's integration demands with respect to its means (0 = the same demands rich or poor).")
    sovereignty_west: float = Field(0.1, ge=0, le=5, description="Sovereignty cost of hosting Western forces per unit of need.")
    sovereignty_chn: float = Field(0.1, ge=0, le=5, description="Sovereignty cost of aligning with China.")
    defiance_ethnic: float = Field(0.1875, ge=0, le=5, description="Cost of defying Russia per unit of ethnic Russian population share (its leverage through kin).")
    defiance_forces: float = Field(0.1875, ge=0, le=5, description="Cost of defying Russia while hosting Russian forces (its leverage through troops on the soil).")
    defiance_remittances: float = Field(0.1875, ge=0, le=5, description="Cost of defying Russia per unit of scaled remittances (its leverage through migrants' earnings).")
    defiance_route: float = Field(0.1875, ge=0, le=5, description="Cost of defying a patron per unit share of exports that can only leave through its pipelines.")
    defiance_neutral: float = Field(0.5, ge=0, le=1, description="Share of the defiance cost paid when nonaligned rather than aligned with a rival.")
    self_reliance: float = Field(0.3, ge=0, le=1, description="Share of its threats, and of the value of patron rents, that a regime of the region's top capacity can do without.")
    commitment_bonus: float = Field(0.05, ge=0, le=5, description="Utility of a stance toward a patron per de jure instrument held with it.")
    # --- personal ties between leaders -----------------------------------------------------------
    tie_weight: float = Field(0.05, ge=0, le=5, description="Utility of full personal ties with a patron's current leader.")
    tie_rate: float = Field(0.1, gt=0, le=1, description="Quarterly rate at which ties with a patron's leader build while aligned with that patron.")
    # --- patrons -------------------------------------------------------------------------------
    oil_reference: float = Field(50.0, gt=0, description="Brent price (USD/bbl) at which Russia's means equal 1.")
    oil_elasticity: float = Field(0.5, ge=0, le=3, description="Elasticity of Russia's means with respect to the oil price.")
    engagement_base: float = Field(0.15, ge=0, le=1, description="Western security engagement in the region at independence, before any programme or Afghan need.")
    engagement_step: float = Field(0.12, ge=0, le=1, description="Western security engagement added by each dated programme (NATO PfP, CENTRASBAT, counter-terrorism commitments).")
    pressure_base: float = Field(0.6, ge=0, le=5, description="Western normative pressure per unit of a repression event.")
    pressure_closure: float = Field(0.15, ge=0, le=5, description="Western normative pressure per unit of regime closure (routine criticism).")
    pressure_mute: float = Field(0.8, ge=0, le=1, description="How much Western logistics need mutes its normative pressure.")
    intent_from_pressure: float = Field(0.3, ge=0, le=5, description="Hostile intent a regime reads into Western pressure.")
    protection: Protection = Protection()
    # --- de jure layer ---------------------------------------------------------------------------
    dejure_rate: float = Field(0.2, gt=0, le=1, description="Quarterly weight of the current stance in the commitment memory.")
    dejure_sticky: bool = Field(True, description="Whether de jure acts wait for the commitment memory (off = follow the stance at once).")
    alliance_join: float = Field(0.6, gt=0, le=1, description="Commitment memory above which a client joins (or renews) a military alliance.")
    alliance_exit: float = Field(0.1, ge=0, lt=1, description="Commitment memory below which a member leaves a military alliance.")

    @model_validator(mode="after")
    def _alliance_hysteresis(self) -> ModelParams:
        if self.alliance_exit >= self.alliance_join:
            raise ValueError(f"alliance_exit ({self.alliance_exit}) must be below alliance_join ({self.alliance_join})")
        return self

    def protection_matrix(self) -> list[list[float]]:
        """``pi0`` as a ``[P, K]`` nested list."""
        return self.protection.as_matrix()


class Theta:
    """Parameters as arrays for a batch of runs: every scalar is shaped ``(b, 1)``.

    ``protection`` is ``(b, P, K)``. Build with :func:`stack_params`; a batch
    may mix parameter sets (one per run) or share one (``b == 1``).
    """

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.__dict__.update(arrays)
        self.size = next(iter(arrays.values())).shape[0]

    def take(self, index: np.ndarray) -> Theta:
        """The parameter rows ``index`` (for splitting a batch into chunks)."""
        return Theta({k: v[index] for k, v in self.__dict__.items() if k != "size"})


def stack_params(params: list[ModelParams]) -> Theta:
    """Stack parameter sets into a :class:`Theta` of ``len(params)`` rows."""
    arrays: dict[str, np.ndarray] = {}
    for name in ModelParams.model_fields:
        if name == "protection":
            arrays[name] = np.array([p.protection_matrix() for p in params], dtype=float)
        else:
            arrays[name] = np.array([[float(getattr(p, name))] for p in params], dtype=float)
    return Theta(arrays)
