"""Batch sweeps over parameters and shock fields, laptop to cluster.

A sweep spec (:mod:`~sim.workflows.sweep.spec`) names a base scenario, dimensions (any parameter
or shock field by dotted path, as ``--set`` takes them), a design, replicates per point and a
root seed. :mod:`~sim.workflows.sweep.design` samples the design SALib-style
(``sample(problem, N)``), :mod:`~sim.workflows.sweep.execute` runs it in resumable Parquet chunks
on any executor, and :mod:`~sim.workflows.sweep.analyze` computes sensitivity indices
(``analyze(problem, Y)``). Replicate ``r`` of every design point uses seed ``run_seed(seed, r)``
(common random numbers), and a run's numbers do not depend on the chunk it lands in, so results
are identical whatever the executor, the number of workers or the chunking.
"""
