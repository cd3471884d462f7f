"""A full push of one mail service with 10,000 addresses: desired_state() and apply().

Private Dovecot + Postfix and Redis, throwaway SQLite database in a temporary MM_VAR_DIR
(no worker: the push functions are timed in this process). The service gets N addresses
(bulk-inserted: the service layer would spend the time on audit rows, not on the push),
each with one user grant and one device password; every 10th address has an alias and
every 20th a redirection keeping a copy. Printed: seconds for desired_state(), for the
first apply() to an empty backend, for a second apply() of the same state (nothing to
change), for actual() + drift(), and peak memory (tracemalloc peak of desired_state()
and apply(); the process's max RSS).

    .venv/bin/python bench/full_push.py [--addresses 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from push_latency import Harness  # noqa: E402


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def traced_peak(fn, *args) -> float:
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    args = parser.parse_args()
    n = args.addresses

    with Harness(worker=False) as h:
        from mailservice import services
        from mailservice.backends.base import drift
        from mailservice.desired import desired_state
        from mailservice.models import Address, AddressAccess, Alias, DevicePassword, Redirection
        from tests.factories import make_organisation, make_user

        owner = make_user("bench-owner@example.org")
        org = make_organisation(owner, "Bench")
        domain = "full.bench.test"
        service = services.mail_service_create(actor=owner, organisation=org, domain=domain,
                                               plan="premium")
        started = time.perf_counter()
        addresses = Address.objects.bulk_create(
            [Address(mail_service=service, local_part=f"user{i:05d}") for i in range(n)],
            batch_size=2000)
        accesses = AddressAccess.objects.bulk_create(
            [AddressAccess(address=a, user=owner, permissions=["read", "send"]) for a in addresses],
            batch_size=2000)
        DevicePassword.objects.bulk_create(
            [DevicePassword(access=x, address=x.address, name="phone",
                            token_sha256=hashlib.sha256(f"pw{i}".encode()).hexdigest())
             for i, x in enumerate(accesses)], batch_size=2000)
        Alias.objects.bulk_create(
            [Alias(address=a, mail_service=service, local_part=f"alias{i:05d}")
             for i, a in enumerate(addresses) if i % 10 == 0], batch_size=2000)
        Redirection.objects.bulk_create(
            [Redirection(address=a, target=f"elsewhere{i}@outside.test", keep_copy=True)
             for i, a in enumerate(addresses) if i % 20 == 0], batch_size=2000)
        fill = time.perf_counter() - started

        backend = h.stack.backend()
        state, t_desired = timed(desired_state, service)
        _, t_apply = timed(backend.apply, state)
        _, t_again = timed(backend.apply, desired_state(service))
        actual, t_actual = timed(backend.actual, domain)
        differences = drift(state, actual)
        peak_desired = traced_peak(desired_state, service)
        backend.remove_service(domain)
        peak_apply = traced_peak(backend.apply, state)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"full push of one mail service: {n} addresses, {len(state.device_passwords)} device "
          f"passwords, {len(state.forwards)} forwards (DB fill {fill:.1f} s)")
    print(f"  desired_state()              {t_desired:7.2f} s   peak {peak_desired:6.1f} MiB (tracemalloc)")
    print(f"  apply() to an empty backend  {t_apply:7.2f} s   peak {peak_apply:6.1f} MiB (tracemalloc)")
    print(f"  apply() again, no change     {t_again:7.2f} s")
    print(f"  actual()                     {t_actual:7.2f} s   drift: {len(differences)} difference(s)")
    print(f"  process max RSS              {rss:7.1f} MiB")


if __name__ == "__main__":
    main()
