"""Pushing DNS changes through the Knot adapter, beside Knot's own floor; reading a big zone back.

A private Knot (scripts.localdns.DnsStack) on a free loopback port, in a temporary
directory removed at the end; no Django, no database: the adapter is timed in-process.

1. A change-set of N RRsets (default 1,000: A, TXT and MX at distinct names), each run
   in a fresh zone: `apply(state, expected=…)` through the adapter (plan, build the
   UPDATE with its prerequisites, sign, send, wait for Knot's answer), beside the floor:
   the same messages built and signed before the clock starts and sent directly over TCP,
   so only Knot's work and the round trip are timed. Then the same N RRsets all changed
   (value-dependent prerequisites, delete + add of each RRset). Median of R runs (the
   adapter and the floor take turns going first); ratio = adapter / floor.
2. `actual()` of a zone of M RRsets (default 10,000): TSIG-signed AXFR and canonical
   RRsets, beside dnspython's own xfr that only parses the messages; then `diff()` against the
   desired state (the reconcile's comparison; must be empty). Seconds (median of 3),
   peak memory (tracemalloc) and the process's max RSS.

    .venv/bin/python bench/dns_push.py [--rrsets 1000] [--runs 7] [--zone-rrsets 10000]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dns.message  # noqa: E402
import dns.query  # noqa: E402

from dnszones.backends import knot as knot_module  # noqa: E402
from dnszones.backends.base import ZoneState, diff  # noqa: E402
from dnszones.backends.canonical import rrset  # noqa: E402
from dnszones.backends.knot_update import build_updates, changes  # noqa: E402
from scripts.localdns import DnsStack  # noqa: E402


def base_state(zone: str) -> ZoneState:
    return ZoneState(zone, (rrset(zone, "@", "NS", 3600, ["ns1.example.net.", "ns2.example.net."]),))


def change_set(zone: str, count: int, version: int = 0) -> ZoneState:
    """`count` RRsets at distinct names: two thirds A (two values), a sixth TXT, a sixth MX."""
    rrsets = list(base_state(zone).rrsets)
    for i in range(count):
        name = f"h{i}"
        if i % 6 == 4:
            rrsets.append(rrset(zone, name, "TXT", 300, [f'"v=bench{version} item {i}"']))
        elif i % 6 == 5:
            rrsets.append(rrset(zone, name, "MX", 300, [f"{10 + version} mx{i % 7}.example.net."]))
        else:
            rrsets.append(rrset(zone, name, "A", 300, [f"10.{version}.{i // 250}.{i % 250 + 1}",
                                                       f"10.{version + 100}.{i // 250}.{i % 250 + 1}"]))
    return ZoneState(zone, tuple(sorted(rrsets)))


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def send_directly(stack: DnsStack, messages) -> None:
    """The floor: already-signed messages sent one after the other, answers only checked."""
    for update in messages:
        reply = dns.message.from_wire(
            knot_module.exchange(stack.host, stack.port, update.wire, 30), keyring=False)
        assert reply.rcode() == 0, reply.rcode()


def presigned(stack: DnsStack, state: ZoneState, before: ZoneState, key):
    return build_updates(state.zone, changes(state, before), key=key)


def bench_push(stack: DnsStack, count: int, runs: int) -> None:
    backend = stack.backend()
    rows = {"add": ([], []), "change": ([], [])}
    shape = {}
    sent = []
    real_exchange = knot_module.exchange

    def counting(host, port, wire, timeout):
        sent.append(len(wire))
        return real_exchange(host, port, wire, timeout)

    for run in range(runs):
        for kind in ("add", "change"):
            adapter_zone, floor_zone = f"a{run}{kind}.bench.test.", f"f{run}{kind}.bench.test."
            for zone in (adapter_zone, floor_zone):
                backend.ensure_zone(base_state(zone))
            first = {z: change_set(z, count) for z in (adapter_zone, floor_zone)}
            if kind == "change":  # the zones already hold the first version
                for zone in (adapter_zone, floor_zone):
                    backend.apply(first[zone], expected=base_state(zone))
                before = first
                after = {z: change_set(z, count, version=1) for z in first}
            else:
                before = {z: base_state(z) for z in first}
                after = first
            messages = presigned(stack, after[floor_zone], before[floor_zone], backend.key)
            # Knot may still be busy with the previous change: alternate who goes first.
            if run % 2:
                _, floor = timed(send_directly, stack, messages)
            sent.clear()
            knot_module.exchange = counting
            try:
                _, adapter = timed(backend.apply, after[adapter_zone],
                                   expected=before[adapter_zone])
            finally:
                knot_module.exchange = real_exchange
            if not run % 2:
                _, floor = timed(send_directly, stack, messages)
            assert len(sent) == len(messages), (len(sent), len(messages))
            shape[kind] = (len(sent), sum(sent) / 1024)
            assert backend.actual(adapter_zone).rrsets == after[adapter_zone].rrsets
            rows[kind][0].append(adapter)
            rows[kind][1].append(floor)
            for zone in (adapter_zone, floor_zone):
                backend.remove_zone(zone)
    build = []
    state, empty = change_set("build.bench.test.", count), base_state("build.bench.test.")
    for _ in range(runs):
        build.append(timed(lambda: build_updates(state.zone, changes(state, empty),
                                                 key=backend.key))[1])

    print(f"Push of a {count:,}-RRset change-set (median of {runs} runs):")
    print("                                        UPDATEs    adapter   Knot floor  ratio")
    for kind, label in (("add", "new RRsets (absent prerequisites)"),
                        ("change", "changed RRsets (value prerequisites)")):
        adapter, floor = (statistics.median(v) for v in rows[kind])
        messages, kib = shape[kind]
        print(f"  {label:36} {messages:2} ({kib:5.1f} KiB) {adapter * 1000:7.1f} ms "
              f"{floor * 1000:7.1f} ms  {adapter / floor:5.2f}")
    print(f"  of which building + signing the message (no I/O): {statistics.median(build) * 1000:.1f} ms")


def bench_actual(stack: DnsStack, count: int) -> None:
    backend = stack.backend()
    zone = "big.bench.test."
    backend.ensure_zone(base_state(zone))
    state = change_set(zone, count)
    _, load = timed(backend.apply, state, expected=base_state(zone))
    records = sum(len(r.values) for r in state.rrsets)

    def bare_axfr():
        return sum(len(m.answer) for m in dns.query.xfr(
            stack.host, zone, port=stack.port, keyring=backend.key, relativize=False))

    axfr = [timed(bare_axfr)[1] for _ in range(3)]
    reads = []
    for _ in range(3):
        served, seconds = timed(backend.actual, zone)
        reads.append(seconds)
    assert diff(served, state).empty and len(served.rrsets) == len(state.rrsets)
    _, compare = timed(diff, served, state)
    tracemalloc.start()
    backend.actual(zone)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nReading back a zone of {len(state.rrsets):,} RRsets ({records:,} records; "
          f"pushed in {load:.2f} s as {-(-len(state.rrsets) // 1000)} UPDATEs):")
    print(f"  actual() (AXFR + canonical RRsets)   {statistics.median(reads):6.2f} s   "
          f"peak {peak:6.1f} MiB (tracemalloc)")
    print(f"  dnspython xfr alone (parse only)     {statistics.median(axfr):6.2f} s")
    print(f"  diff(actual, desired): empty         {compare * 1000:6.1f} ms")
    print(f"  process max RSS                      {rss:6.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rrsets", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--zone-rrsets", type=int, default=10_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mm-bench-dns-", dir="/tmp"))
    stack = DnsStack.start(root)
    try:
        bench_push(stack, args.rrsets, args.runs)
        bench_actual(stack, args.zone_rrsets)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
