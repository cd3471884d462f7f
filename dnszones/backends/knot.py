"""The Knot DNS adapter: zones created and removed through Knot's control socket (kept in
its configuration database, so they survive a restart), records changed by TSIG-signed
RFC 2136 UPDATEs whose prerequisites catch out-of-band edits, the served zone read back by
a TSIG-signed AXFR.

knotc talks to a UNIX socket, so the adapter runs on Knot's machine (the hidden primary);
UPDATE and AXFR go over TCP to `host:port`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.xfr

from .base import DnsBackend, DnsBackendError, ZoneDrifted, ZoneState
from .canonical import SERVER_OWNED_TYPES, rrset_from_rdatas
from .knot_control import KnotControl, checked_zone
from .knot_transport import axfr, exchange
from .knot_update import MAX_RRSETS, SignedUpdate, build_updates, changes

_TSIG_ALGORITHMS = {
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}
# The prerequisites failed: the zone is not what the caller said it was.
_DRIFT_RCODES = {dns.rcode.NXRRSET, dns.rcode.YXRRSET, dns.rcode.NXDOMAIN, dns.rcode.YXDOMAIN}
_TRANSIENT_RCODES = {dns.rcode.SERVFAIL}


@dataclass(frozen=True)
class KnotConfig:
    host: str  # where Knot answers UPDATE and AXFR (TCP)
    port: int
    tsig_name: str  # a key Knot's ACL allows to update and transfer every zone
    tsig_secret: str  # base64
    control_socket: Path  # knotc -s
    tsig_algorithm: str = "hmac-sha256"
    knotc: str = "knotc"
    timeout: float = 10.0  # seconds per network read or knotc call
    transfer_lifetime: float = 120.0  # a whole AXFR
    max_rrsets_per_update: int = MAX_RRSETS
    # SOA of a new zone: MNAME (empty: the zone's first apex NS) and timers.
    soa_primary: str = ""
    soa_refresh: int = 3600
    soa_retry: int = 900
    soa_expire: int = 1_209_600
    soa_minimum: int = 300  # negative-answer TTL (RFC 2308)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> KnotConfig:
        """From settings or a local DNS stack's stack.json (which has these keys and more)."""
        known = set(cls.__dataclass_fields__)
        values = {name: data[name] for name in known if name in data}
        values["control_socket"] = Path(str(values["control_socket"]))
        values["port"] = int(values["port"])
        return cls(**values)


class KnotBackend(DnsBackend):
    @classmethod
    def from_config(cls, data: Mapping[str, object]) -> KnotBackend:
        """From a DNS host's entry in DNS_BACKEND_CONFIG (dnszones.push.backend_for)."""
        return cls(KnotConfig.from_dict(data))

    def __init__(self, config: KnotConfig):
        self.config = config
        algorithm = _TSIG_ALGORITHMS.get(config.tsig_algorithm.lower())
        if algorithm is None:
            raise DnsBackendError(f"unsupported TSIG algorithm {config.tsig_algorithm}",
                                  permanent=True)
        self.key = dns.tsig.Key(config.tsig_name, config.tsig_secret, algorithm)
        self.control = KnotControl(config.control_socket, knotc=config.knotc,
                                   timeout=config.timeout)

    # --- Zones --------------------------------------------------------------------------

    def ensure_zone(self, state: ZoneState) -> None:
        zone = checked_zone(state.zone)
        serial = self.control.zone_serial(zone)
        if serial is None:
            self.control.add_zone(zone)
            serial = self.control.zone_serial(zone)
        if serial == "-":  # configured, no contents yet: Knot needs at least the SOA
            self.control.write_zone(zone, self._first_contents(state))

    def remove_zone(self, zone: str) -> None:
        self.control.remove_zone(checked_zone(zone))

    def zones(self) -> list[str]:
        return self.control.configured_zones()

    def _first_contents(self, state: ZoneState) -> list[tuple[str, int, str, str]]:
        origin = dns.name.from_text(state.zone)
        apex_ns = next((r for r in state.rrsets if r.type == "NS" and r.name == state.zone), None)
        primary = self.config.soa_primary or (apex_ns.values[0] if apex_ns else state.zone)
        soa = " ".join([
            dns.name.from_text(primary, origin=origin).to_text(),
            soa_mailbox(state.soa_email, origin).to_text(),
            "1", str(self.config.soa_refresh), str(self.config.soa_retry),
            str(self.config.soa_expire), str(self.config.soa_minimum),
        ])
        records = [("@", state.default_ttl, "SOA", soa)]
        if apex_ns:
            records += [("@", apex_ns.ttl, "NS", value) for value in apex_ns.values]
        return records

    # --- Records ------------------------------------------------------------------------

    def apply(self, state: ZoneState, *, expected: ZoneState | None) -> None:
        zone = checked_zone(state.zone)
        if expected is None:
            served = self.actual(zone)
            if served is None:
                self.ensure_zone(state)
                served = self.actual(zone)
            planned, check = changes(state, served), False
        else:
            planned, check = changes(state, expected), True
        updates = build_updates(zone, planned, key=self.key, prerequisites=check,
                                max_rrsets=self.config.max_rrsets_per_update)
        for number, update in enumerate(updates):
            try:
                self._send(update, zone)
            except ZoneDrifted as exc:
                if number:  # the earlier messages of this change-set were applied
                    raise ZoneDrifted(f"{exc} ({number} of {len(updates)} updates of this "
                                      "change-set were applied before)") from exc
                raise

    def _send(self, update: SignedUpdate, zone: str) -> None:
        message = update.message
        try:
            reply_wire = exchange(self.config.host, self.config.port, update.wire,
                                  self.config.timeout)
        except (OSError, EOFError, dns.exception.Timeout) as exc:
            raise DnsBackendError(f"UPDATE {zone} to {self._where}: {exc}",
                                  permanent=False) from exc
        try:
            reply = dns.message.from_wire(reply_wire, keyring=self.key, request_mac=message.mac)
        except dns.tsig.PeerError as exc:  # Knot did not accept our key or signature
            raise DnsBackendError(f"UPDATE {zone}: {self._where} refused the TSIG key "
                                  f"{self.config.tsig_name}: {exc}", permanent=True) from exc
        except dns.exception.DNSException:
            # Knot answers a zone it does not serve without signing: read the code only.
            # An unsigned answer is never taken as success.
            reply = dns.message.from_wire(reply_wire, keyring=False)
            if reply.rcode() == dns.rcode.NOERROR:
                raise DnsBackendError(f"UPDATE {zone}: unsigned answer from {self._where}",
                                      permanent=True) from None
        if not message.is_response(reply):
            raise DnsBackendError(f"UPDATE {zone}: {self._where} answered another query",
                                  permanent=False)
        rcode = reply.rcode()
        if rcode == dns.rcode.NOERROR:
            return
        text = dns.rcode.to_text(rcode)
        if rcode in _DRIFT_RCODES:
            raise ZoneDrifted(f"{zone} is not as last pushed ({text}): an out-of-band change; "
                              "nothing was changed")
        if rcode in _TRANSIENT_RCODES:
            raise DnsBackendError(f"UPDATE {zone}: {text} from {self._where}", permanent=False)
        if rcode in (dns.rcode.NOTAUTH, dns.rcode.NOTZONE, dns.rcode.REFUSED) \
                and zone not in self.zones():
            raise ZoneDrifted(f"{zone} is not served by {self._where} ({text})")
        raise DnsBackendError(f"UPDATE {zone}: {text} from {self._where}", permanent=True)

    # --- Reading back -------------------------------------------------------------------

    def actual(self, zone: str) -> ZoneState | None:
        """The served zone by AXFR. `soa_email` is the SOA's RNAME relative to the zone
        when under it, `default_ttl` the SOA's TTL; compare states with `diff()`, which
        looks at the RRsets only (the SOA is the server's)."""
        zone = checked_zone(zone)
        origin = dns.name.from_text(zone)
        received = []
        try:
            for message in axfr(self.config.host, self.config.port, origin, self.key,
                                timeout=self.config.timeout,
                                lifetime=self.config.transfer_lifetime):
                received += message.answer
        except dns.xfr.TransferError as exc:
            if self.control.zone_serial(zone) in (None, "-"):
                return None
            raise DnsBackendError(f"AXFR {zone} from {self._where}: {exc}",
                                  permanent=exc.rcode not in _TRANSIENT_RCODES) from exc
        except dns.tsig.PeerError as exc:
            raise DnsBackendError(f"AXFR {zone}: {self._where} refused the TSIG key "
                                  f"{self.config.tsig_name}: {exc}", permanent=True) from exc
        except (OSError, EOFError, dns.exception.Timeout) as exc:
            raise DnsBackendError(f"AXFR {zone} from {self._where}: {exc}",
                                  permanent=False) from exc
        except dns.exception.DNSException as exc:
            raise DnsBackendError(f"AXFR {zone} from {self._where}: {exc}",
                                  permanent=True) from exc
        found: dict[tuple[dns.name.Name, int], tuple[int, list]] = {}
        soa = None
        for rrset in received:
            if rrset.rdtype == dns.rdatatype.SOA:
                soa = rrset
            elif dns.rdatatype.to_text(rrset.rdtype) not in SERVER_OWNED_TYPES:
                # One RRset may be cut across messages.
                found.setdefault((rrset.name, rrset.rdtype), (rrset.ttl, []))[1].extend(rrset)
        rrsets = tuple(sorted(rrset_from_rdatas(name, ttl, rdatas)
                              for (name, _), (ttl, rdatas) in found.items()))
        if soa is None:
            return ZoneState(zone, rrsets)
        rname = soa[0].rname
        email = rname.relativize(origin).to_text() if rname.is_subdomain(origin) else rname.to_text()
        return ZoneState(zone, rrsets, soa_email=email, default_ttl=soa.ttl)

    @property
    def _where(self) -> str:
        return f"Knot at {self.config.host}:{self.config.port}"


def soa_mailbox(email: str, origin: dns.name.Name) -> dns.name.Name:
    """The SOA RNAME: `hostmaster` (relative to the zone), `hostmaster.example.net.`, or
    `hostmaster@example.net`."""
    if "@" in email:
        local, _, domain = email.rpartition("@")
        return dns.name.Name([local.encode(), *dns.name.from_text(domain).labels])
    if "." not in email.rstrip("."):  # one label, as the zone file reads it: in the zone
        return dns.name.from_text(email.rstrip("."), origin=origin)
    return dns.name.from_text(email, origin=origin)
