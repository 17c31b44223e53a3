"""Detection: features per actor-day, detectors that turn them into explained alerts."""

from custodes.detect.alert import Alert, Severity
from custodes.detect.detector import DetectContext, Detector, Findings, register, registered

__all__ = ["Alert", "DetectContext", "Detector", "Findings", "Severity", "register", "registered"]
