"""SPF test zones (name → type → values, as in spf_golden/) served by the tiny DNS server,
so the product's resolver answers them over the wire."""
from .tiny_dns import TinyDns


def zone_text(zones: dict, origin: str) -> str:
    lines = ["$TTL 300", f"@ SOA ns.{origin} hostmaster.{origin} 1 3600 900 1209600 300",
             f"@ NS ns.{origin}"]
    for name, types in zones.items():
        for rtype, values in types.items():
            for value in values:
                if rtype in ("TXT", "SPF"):
                    value = " ".join('"' + value[i:i + 255] + '"' for i in range(0, len(value), 255))
                lines.append(f"{name.rstrip('.')}. {rtype} {value}")
    return "\n".join(lines) + "\n"


def serve(zones: dict, origin: str) -> TinyDns:
    return TinyDns(zone_text(zones, origin.rstrip(".") + "."), origin.rstrip(".") + ".")
