"""The ``anomaly`` detector: unsupervised scoring of actor-days (ECOD in SQL by default)."""

from custodes.detect.detectors.anomaly.detector import Anomaly
from custodes.detect.detectors.anomaly.ecod import EcodParams
from custodes.detect.detectors.anomaly.measures import MEASURES, Measure, Tail

__all__ = ["MEASURES", "Anomaly", "EcodParams", "Measure", "Tail"]
