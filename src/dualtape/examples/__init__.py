"""Example models that ship with dualtape (used by `dualtape demo`); dualtape treats them as user code."""
