"""Escalation triage: read the text, rate the risk, route it, and start its SLA clocks."""
