"""Custodes: integrity analytics and escalation triage for Trust & Safety organisations."""

__version__ = "0.1.0"
