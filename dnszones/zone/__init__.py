"""The pure core of DNS zones: record validation (dnspython), TXT splitting, zone-file
parsing and rendering, import previews and the desired zone state. No ORM, no subprocess:
every function takes and returns plain data; `tests/dnszones/test_purity.py` enforces it.

Messages are English templates with `%(name)s` parameters, translated on the Django side
(`dnszones.services.common.message`), like the Sieve linter's."""
