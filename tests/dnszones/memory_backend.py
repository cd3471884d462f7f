"""An in-memory DNS server for unit tests of the push: it keeps zones as ZoneStates and
honours `expected` like a real server's update prerequisites (a mismatch is ZoneDrifted and
changes nothing). The real adapter's behaviour is proven by the e2e tests against Knot."""
from dnszones.backends.base import DnsBackend, DnsBackendError, ZoneDrifted, ZoneState

SERVERS: dict[str, "MemoryBackend"] = {}


class MemoryBackend(DnsBackend):
    def __init__(self, name="default"):
        self.name = name
        self.served: dict[str, ZoneState] = {}
        self.applied: list[tuple[ZoneState, ZoneState | None]] = []
        self.fail: DnsBackendError | None = None

    @classmethod
    def from_config(cls, config: dict) -> "MemoryBackend":
        name = config.get("name", "default")
        return SERVERS.setdefault(name, cls(name))

    def _check(self):
        if self.fail is not None:
            raise self.fail

    def ensure_zone(self, state):
        self._check()
        apex_ns = tuple(r for r in state.rrsets if r.name == state.zone and r.type == "NS")
        self.served.setdefault(state.zone, ZoneState(zone=state.zone, rrsets=apex_ns))

    def apply(self, state, *, expected):
        self._check()
        if state.zone not in self.served:
            raise DnsBackendError(f"zone {state.zone} is not served", permanent=False)
        if expected is not None and set(self.served[state.zone].rrsets) != set(expected.rrsets):
            raise ZoneDrifted(f"zone {state.zone} changed out of band")
        self.applied.append((state, expected))
        self.served[state.zone] = ZoneState(zone=state.zone, rrsets=tuple(sorted(state.rrsets)))

    def actual(self, zone):
        self._check()
        return self.served.get(zone)

    def remove_zone(self, zone):
        self._check()
        self.served.pop(zone, None)

    def zones(self):
        self._check()
        return sorted(self.served)
