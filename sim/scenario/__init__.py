"""The scenario layer: scenarios are data.

The schema (:mod:`~sim.scenario.schema`, pydantic), YAML that remembers lines
(:mod:`~sim.scenario.yamlio`), inheritance and parameter files (:mod:`~sim.scenario.resolve`),
loading with ``--set`` overrides and located errors (:mod:`~sim.scenario.loading`), and compiling
a scenario into the kernel's arrays (:mod:`~sim.scenario.compile`).
"""
