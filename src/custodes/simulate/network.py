"""Where events come from: countries, IP addresses and devices, as indexable pools.

Events carry small integer indexes into these pools; the strings are looked up once per
written batch. Addresses are stable per place (an office egress, a home line, a hotel in a
country) so that a detector can learn what is normal for a person.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

# Site countries first: the simulator's own sites index into the head of this tuple.
COUNTRIES: Final[tuple[str, ...]] = (
    "US", "CO", "BR", "IE", "PT", "PH", "IN",
    "GB", "DE", "ES", "FR", "MX", "AR", "NL", "SG", "JP", "AE", "NG", "ZA", "ID", "VN",
    "CA", "AU", "KE", "TR", "PL", "RO", "EG", "CL", "PE", "IT", "TH", "MY", "PK",
)  # fmt: skip
COUNTRY: Final[dict[str, int]] = {c: i for i, c in enumerate(COUNTRIES)}

# Business and holiday travel mostly goes to a few hubs.
TRAVEL_DESTINATIONS: Final[tuple[str, ...]] = (
    "US", "GB", "DE", "ES", "FR", "MX", "NL", "SG", "JP", "AE", "PT", "IE", "BR", "CO", "CA",
)  # fmt: skip

_IPS_PER_COUNTRY: Final = 24


class Network:
    """Owns the IP and device string pools; everything else holds indexes into them."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.ips: list[str] = []
        self.devices: list[str] = []
        self._rng = rng
        # A handful of provider prefixes per country keeps addresses plausible and stable.
        self._prefix = [
            (int(a), int(b))
            for a, b in zip(
                rng.integers(23, 223, size=len(COUNTRIES)),
                rng.integers(0, 256, size=len(COUNTRIES)),
                strict=True,
            )
        ]
        self.country_ips: list[npt.NDArray[np.int32]] = [
            self.new_ips(c, _IPS_PER_COUNTRY) for c in range(len(COUNTRIES))
        ]

    def new_ips(self, country: int, count: int) -> npt.NDArray[np.int32]:
        a, b = self._prefix[country]
        first = len(self.ips)
        thirds = self._rng.integers(0, 256, size=count)
        fourths = self._rng.integers(1, 255, size=count)
        self.ips.extend(f"{a}.{b}.{c}.{d}" for c, d in zip(thirds, fourths, strict=True))
        return np.arange(first, first + count, dtype=np.int32)

    def new_device(self, name: str) -> int:
        self.devices.append(name)
        return len(self.devices) - 1

    def personal_device(self) -> int:
        """A personal (BYOD) laptop or phone: the same naming whoever owns it, so that a
        stranger's device looks like any colleague's phone."""
        tag = int(self._rng.integers(0, 16**6))
        return self.new_device(f"PD-{tag:06X}")
