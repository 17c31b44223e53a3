"""Built-in detectors; importing this package registers them."""

from custodes.detect.detectors import baselines

__all__ = ["baselines"]
