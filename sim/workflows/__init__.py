"""The workflows: what a user asks of the model.

A run (:mod:`~sim.workflows.run`) and its output files (:mod:`~sim.workflows.outputs`), the fit to
history (:mod:`~sim.workflows.fit`) and the calibration loss (:mod:`~sim.workflows.loss`),
counterfactual comparison (:mod:`~sim.workflows.compare`), causal tests
(:mod:`~sim.workflows.causes`) and validation (:mod:`~sim.workflows.validation`), sweeps
(:mod:`~sim.workflows.sweep`) and calibration (:mod:`~sim.workflows.calibrate`), all spreading work
through one executor abstraction (:mod:`~sim.workflows.executors`).
"""
