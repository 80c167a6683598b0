"""Calibration: differential evolution for a best fit, ABC-SMC for a posterior, and a report.

``omnibalance calibrate SPEC.yaml`` reads a spec (:mod:`~sim.workflows.calibrate.spec`) naming the
parameters (dotted paths into :class:`~sim.kernel.params.ModelParams`), their bounds and priors,
the replicates per evaluation and the budget. The objective (:mod:`~sim.workflows.calibrate.problem`)
runs the same replicates for every parameter set (common random numbers), so it is a deterministic
function of the parameters; many parameter sets run in one ensemble batch. The optimisers are in
:mod:`~sim.workflows.calibrate.de`, :mod:`~sim.workflows.calibrate.abc` (the in-project ABC-SMC) and
:mod:`~sim.workflows.calibrate.smc` (pyabc's), the command in
:mod:`~sim.workflows.calibrate.run` and its report in :mod:`~sim.workflows.calibrate.report`.
"""

#: The methods that sample a posterior (the in-project ABC-SMC and pyabc's); they write into --out as
#: they go and can --resume. Defined here, importing nothing, so the command line can name them cheaply.
ABC_METHODS = ("abc", "pyabc")
