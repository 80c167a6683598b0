"""The kernel: the model's mathematics as pure, vectorised numpy functions.

Actors and their states (:mod:`~sim.kernel.actors`), the typed parameters
(:mod:`~sim.kernel.params`), the calendar (:mod:`~sim.kernel.timeline`), the per-run random
numbers (:mod:`~sim.kernel.randomness`), the compiled scenario it reads
(:mod:`~sim.kernel.exogenous`), the environment, the patrons' offers, the leaders' ties and
preference shocks, the de jure layer, the decision rules, one quarter of a client's choice
(:mod:`~sim.kernel.quarter`) and the measures the engines record. Nothing here imports from the
scenario layer, the engines, the workflows or the face (``tests/kernel/test_layering.py``).
"""
