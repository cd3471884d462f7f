"""Every limit of the mail product, in one place (pure constants: the Sieve core, the models,
the services and the forms all read them here). Each is enforced with a clear error that
names the field; README.md lists them for administrators, and a test keeps that list equal
to these values. Deployment-wide limits that an operator tunes are settings instead:
`API_PAGE_SIZE_MAX` (a page of an API list), `DATA_UPLOAD_MAX_MEMORY_SIZE` (a request
body), `AUTH_LIMITS` (failed logins)."""

# --- sorting rules ------------------------------------------------------------------------
RULES_PER_ADDRESS = 500
# A rule compiles to one Sieve test; thousands of conditions would only slow every delivery.
CONDITIONS_PER_RULE = 50
# What a default Pigeonhole install accepts in one script run (sieve_max_actions,
# sieve_max_redirects): more would fail at delivery, not at save.
ACTIONS_PER_RULE = 32
REDIRECTS_PER_RULE = 4
RULE_NAME_CHARS = 200
CONDITION_VALUE_CHARS = 1000
FOLDER_CHARS = 1000
FOLDER_SEGMENT_BYTES = 255  # one directory name on the mail store
# RFC 5228 only guarantees 2**31 - 1 for numbers; a size condition stays inside it.
SIZE_CONDITION_BYTES = 2**31 - 1

# --- advanced mode, uploads ---------------------------------------------------------------
SCRIPT_BYTES = 256 * 1024
TEST_MESSAGE_BYTES = 10 * 1024 * 1024  # a sample message for the rule tester

# --- addresses ----------------------------------------------------------------------------
QUOTA_MB_MIN = 1
QUOTA_MB_MAX = 1024 * 1024  # 1 TiB: more than any plan offers, far below what overflows

# --- auto-reply ---------------------------------------------------------------------------
# One reply per sender per this many days (Sieve vacation `:days`). Dovecot refuses fewer
# than its sieve_vacation_min_period (1 day by default); beyond a month a sender who writes
# again would never learn that the person is still away.
AUTOREPLY_DAYS_MIN = 1
AUTOREPLY_DAYS_MAX = 30

# --- bulk import --------------------------------------------------------------------------
# One file of addresses (CSV): more rows go in several files; the size keeps the upload and
# the worker's memory bounded (the checked rows are held until they are written at once).
IMPORT_ROWS = 50_000
IMPORT_BYTES = 20 * 1024 * 1024
