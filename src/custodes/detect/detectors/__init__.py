"""Built-in detectors; importing this package registers them."""

from custodes.detect.detectors import anomaly as anomaly  # the `anomaly` detector
from custodes.detect.detectors import baselines
from custodes.detect.detectors import graphs as graphs  # the `graphs` detector
from custodes.detect.detectors import rules as rules  # the `rules` detector
from custodes.detect.detectors import sequences as sequences  # the `sequences` detector

__all__ = ["baselines"]
