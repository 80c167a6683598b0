"""The face: what people use. The command line (:mod:`~sim.face.cli`), the student dashboard
(:mod:`~sim.face.dashboard`), the figures (:mod:`~sim.face.plots`) and their one palette
(:mod:`~sim.face.palette`). The CLI and the dashboard run the model through :mod:`sim.api`."""
