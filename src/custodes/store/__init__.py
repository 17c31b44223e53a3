"""Database gateways: the only package that opens connections."""

from custodes.store.events import EventStore

__all__ = ["EventStore"]
