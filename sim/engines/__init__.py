"""The engines: the Mesa model and its agents (:mod:`~sim.engines.model`, :mod:`~sim.engines.agents`)
and the vectorised ensemble runner (:mod:`~sim.engines.ensemble`), both stepping the kernel's one
quarter and recording through one :class:`~sim.engines.recording.Recorder`."""
