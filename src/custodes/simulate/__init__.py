"""A synthetic Trust & Safety organisation with planted misconduct and known ground truth.

Detection quality is measured on this data, so honest behaviour is deliberately noisy and
insiders are deliberately subtle; see ``scenarios`` for the misconduct families.
"""

from custodes.simulate.config import SimulationConfig
from custodes.simulate.engine import SimulationSummary, simulate
from custodes.simulate.files import open_sink

__all__ = ["SimulationConfig", "SimulationSummary", "open_sink", "simulate"]
