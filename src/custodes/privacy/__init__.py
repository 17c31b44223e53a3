"""Privacy for the staff being watched: stable keyed pseudonyms, and justified, time-limited,
audited unmasking."""

from custodes.privacy.pseudonyms import Pseudonyms

__all__ = ["Pseudonyms"]
