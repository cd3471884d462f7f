"""Bulk import and export of a mail service's addresses as CSV, with their aliases,
redirections and users (README "Importing addresses" lists the columns).

The import runs in a worker (`import_run`, a Job with progress): every row is checked with
the checks of a single creation (services/mail.py, services/people.py), in batches so the
queries do not grow with the rows; any refused row refuses the whole file, with each
refusal's line, column and message. Then, under the service's lock, the plan's limits are
checked for the whole file and everything is written in bulk, audited in bulk, with one
push. The export streams the same columns, so an export imports back."""
import csv
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from manager.accounts.models import Membership
from manager.accounts.roles import ADD
from manager.audit import services as audit
from manager.core.context import get_request_id
from manager.core.errors import ServiceError
from manager.core.models import Job

from .. import limits, validators
from ..models import Address, AddressAccess, Alias, MailService, Permission, Redirection
from ..selectors import forward_targets
from .common import ADDRESS_FIELDS, _require, push
from .mail import (
    clean_alias_local_part,
    clean_new_address,
    lock_service,
    redirection_loop_error,
    redirection_loops,
    taken_local_parts,
)
from .people import clean_permissions, login_owners, refuse_login_address
from .plan_limits import address_room, check_room
from .templates import apply_templates_to_new_addresses

log = logging.getLogger(__name__)

IMPORT_KIND = "address_import"
COLUMNS = ["local_part", "display_name", "quota_mb", "enabled", "aliases", "redirections",
           "redirections_no_copy", "users"]
REQUIRED_COLUMNS = ["local_part"]
# Rows per query and per INSERT: the queries of an import grow with the batches, not the rows.
BATCH = 1000
DEFAULT_USER_PERMISSIONS = [Permission.READ.value, Permission.SEND.value]
PREVIEW_ROWS = 20
_TRUE = {"true", "yes", "1", "oui", "vrai", "y"}
_FALSE = {"false", "no", "0", "non", "faux", "n"}


@dataclass
class Row:
    """One line of the file, cleaned: a new address and what comes with it."""

    line: int
    address: Address
    aliases: list[str] = field(default_factory=list)
    redirections: list[tuple[str, bool]] = field(default_factory=list)  # (target, keep_copy)
    users: list[tuple[str, list[str]]] = field(default_factory=list)  # (e-mail, permissions)


class FileRefused(Exception):
    def __init__(self, errors: list[dict]):
        super().__init__(f"{len(errors)} error(s)")
        self.errors = errors


def _error(line, column, message) -> dict:
    return {"line": line, "column": column, "message": str(message)}


def _items(cell: str) -> list[str]:
    """A list in one cell: separated by spaces or `|` (the columns' own separators stay
    free for Excel)."""
    return [item for item in (cell or "").replace("|", " ").split() if item]


# --- reading the file ------------------------------------------------------------------

def decode(data: bytes) -> str:
    """The file's text: UTF-8, with or without a byte order mark (400 otherwise)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = _("The file is not UTF-8 text (byte %(at)d). Save it as CSV UTF-8.") % {
            "at": exc.start + 1}
        raise ServiceError(message, code="invalid_file", fields={"file": [message]}) from exc


def _reader(text: str):
    """A csv reader over `text`, separated by `;` (French Excel) or `,`: whichever the
    header line has more of."""
    text = text.lstrip("\ufeff")
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _header(reader) -> list[str]:
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise FileRefused([_error(1, "", _("The file is empty."))]) from None
    errors = [_error(1, name, _("Unknown column “%(name)s”; the columns are: %(columns)s.")
                     % {"name": name, "columns": ", ".join(COLUMNS)})
              for name in header if name not in COLUMNS]
    errors += [_error(1, name, _("The column “%(name)s” appears twice.") % {"name": name})
               for name in sorted({n for n in header if header.count(n) > 1 and n in COLUMNS})]
    errors += [_error(1, name, _("The column “%(name)s” is required.") % {"name": name})
               for name in REQUIRED_COLUMNS if name not in header]
    if errors:
        raise FileRefused(errors)
    return header


def _service_errors(line, exc: ServiceError, default_column) -> list[dict]:
    """A refusal of the single-object checks as row errors, one per field named."""
    if not exc.fields:
        return [_error(line, default_column, exc.message)]
    return [_error(line, column if column in COLUMNS else default_column, message)
            for column, messages in exc.fields.items() for message in messages]


def _clean_row(service, line: int, values: dict[str, str], errors: list[dict]) -> Row | None:
    """One line through the checks that need nothing but the line (no database)."""
    failed = len(errors)
    quota_mb = None
    raw_quota = values.get("quota_mb", "").strip()
    if raw_quota:
        try:
            quota_mb = int(raw_quota)
        except ValueError:
            errors.append(_error(line, "quota_mb", _("Enter a whole number of MB.")))
    raw_enabled = values.get("enabled", "").strip().lower()
    enabled = True
    if raw_enabled in _FALSE:
        enabled = False
    elif raw_enabled and raw_enabled not in _TRUE:
        errors.append(_error(line, "enabled", _("Enter true or false.")))
    try:
        address = clean_new_address(service, local_part=values.get("local_part", ""),
                                    display_name=values.get("display_name", ""),
                                    quota_mb=quota_mb, enabled=enabled)
    except ServiceError as exc:
        errors += _service_errors(line, exc, "local_part")
        return None
    row = Row(line=line, address=address)
    for local_part in _items(values.get("aliases", "")):
        try:
            row.aliases.append(clean_alias_local_part(local_part))
        except ServiceError as exc:
            errors.append(_error(line, "aliases", f"{local_part}: {exc.message}"))
    for column, keep_copy in (("redirections", True), ("redirections_no_copy", False)):
        for target in _items(values.get(column, "")):
            try:
                target = validators.clean_email(target)
            except Exception as exc:  # noqa: BLE001 - a ValidationError of the e-mail checks
                errors.append(_error(line, column, f"{target}: {' '.join(exc.messages)}"))
                continue
            if any(t == target for t, _keep in row.redirections):
                errors.append(_error(line, column, _("%(target)s: This redirection already exists.")
                                     % {"target": target}))
                continue
            row.redirections.append((target, keep_copy))
    for item in _items(values.get("users", "")):
        email, _sep, permissions = item.partition(":")
        permissions = [p for p in permissions.split("+") if p] if _sep else DEFAULT_USER_PERMISSIONS
        try:
            email = validators.clean_email(email)
            row.users.append((email, clean_permissions(address, permissions)))
        except ServiceError as exc:
            errors.append(_error(line, "users", f"{email}: {exc.message}"))
        except Exception as exc:  # noqa: BLE001 - a ValidationError of the e-mail checks
            errors.append(_error(line, "users", f"{email}: {' '.join(exc.messages)}"))
    return row if len(errors) == failed else None


def read_rows(service: MailService, text: str, *, progress=None) -> list[Row]:
    """Every line of the file, checked as a single creation checks it, in batches of
    BATCH lines (a constant number of queries per batch). Raises FileRefused with every
    error found, in line order."""
    reader = _reader(text)
    header = _header(reader)
    errors: list[dict] = []
    rows: list[Row] = []
    seen: dict[str, int] = {}  # local part (address or alias) → the line that has it
    for values in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in values):
            continue
        if len(rows) + len(errors) >= limits.IMPORT_ROWS:
            errors.append(_error(line, "", _("At most %(n)d addresses per file.")
                                 % {"n": limits.IMPORT_ROWS}))
            break
        if len(values) > len(header):
            errors.append(_error(line, "", _("This line has more cells than the header.")))
            continue
        row = _clean_row(service, line, dict(zip(header, values, strict=False)), errors)
        if row is None:
            continue
        for column, local_part in [("local_part", row.address.local_part),
                                   *(("aliases", a) for a in row.aliases)]:
            if local_part in seen:
                errors.append(_error(line, column, _("%(email)s is already on line %(other)d.")
                                     % {"email": f"{local_part}@{service.domain}",
                                        "other": seen[local_part]}))
            else:
                seen[local_part] = line
        rows.append(row)
        if progress is not None and len(rows) % BATCH == 0:
            progress(len(rows))
    for start in range(0, len(rows), BATCH):
        _check_batch(service, rows[start:start + BATCH], errors)
        if progress is not None:
            progress(len(rows) + start + BATCH)
    _check_redirections(service, rows, errors)
    if errors:
        raise FileRefused(sorted(errors, key=lambda e: (e["line"] or 0, e["column"])))
    return rows


def _check_batch(service, rows: list[Row], errors: list[dict]) -> None:
    """The checks of a batch of rows that read the database: local parts held already
    (one query), users who are members (one query), addresses that are logins (one)."""
    wanted = {lp for row in rows for lp in [row.address.local_part, *row.aliases]}
    taken = taken_local_parts(service, wanted)
    emails = {email for row in rows for email, _p in row.users}
    members = {}
    if emails:
        members = dict(Membership.objects.filter(organisation_id=service.organisation_id)
                       .annotate(login=Lower("user__email")).filter(login__in=emails)
                       .values_list("login", "user_id"))
    owners = login_owners([r.address.email for r in rows if r.users]) if emails else {}
    for row in rows:
        if row.address.local_part in taken:
            errors.append(_error(row.line, "local_part", taken[row.address.local_part].message))
        for alias in row.aliases:
            if alias in taken:
                errors.append(_error(row.line, "aliases", taken[alias].message))
        for email, _permissions in row.users:
            if email not in members:
                not_member = _("Only members of the organisation can be added; invite others.")
                errors.append(_error(row.line, "users", f"{email}: {not_member}"))
                continue
            try:
                refuse_login_address(row.address.email, members[email], owners)
            except ServiceError as exc:
                errors.append(_error(row.line, "users", exc.message))


def _check_redirections(service, rows: list[Row], errors: list[dict]) -> None:
    """No redirection of the file may loop: the forwarding graph as stored, read ahead
    level by level for every target at once, plus the edges the file adds."""
    extra: dict[str, set[str]] = {}
    for row in rows:
        email = row.address.email
        for alias in row.aliases:
            extra.setdefault(f"{alias}@{service.domain}", set()).add(email)
        for target, _keep in row.redirections:
            extra.setdefault(email, set()).add(target)
    if not any(row.redirections for row in rows):
        return
    known: dict[str, set[str]] = {}
    level = {t for targets in extra.values() for t in targets}
    while level:
        found = forward_targets(level)
        for source in level:
            known[source] = found.get(source, set())
        level = {t for targets in found.values() for t in targets} - known.keys()

    def graph(addresses):
        """Stored edges and the file's, folded once (not once per redirection checked)."""
        missing = set(addresses) - known.keys()
        if missing:
            known.update({a: set() for a in missing} | forward_targets(missing))
        found = {a: known[a] | extra.get(a, set()) for a in addresses}
        return {a: targets for a, targets in found.items() if targets}

    for row in rows:
        for target, _keep in row.redirections:
            if redirection_loops(row.address.email, target, targets_of=graph):
                errors.append(_error(row.line, "redirections" if _keep else "redirections_no_copy",
                                     f"{target}: {redirection_loop_error().message}"))


# --- the job ---------------------------------------------------------------------------

@transaction.atomic
def import_start(*, actor, service: MailService, data: bytes, dry_run: bool = False) -> Job:
    """Queue the import of a CSV file into `service` (403 without the role to add
    addresses; 400 if the file is not UTF-8 or too large). `dry_run`: check every row and
    report what would be created, create nothing."""
    _require(actor, ADD, service.organisation_id)
    if len(data) > limits.IMPORT_BYTES:
        message = _("The file is larger than %(n)d MB.") % {"n": limits.IMPORT_BYTES // 2**20}
        raise ServiceError(message, code="too_large", fields={"file": [message]})
    text = decode(data)
    job = Job.objects.create(kind=IMPORT_KIND, organisation_id=service.organisation_id,
                             actor=actor, params={"mail_service": service.pk,
                                                  "dry_run": bool(dry_run)}, payload=text,
                             request_id=get_request_id())
    audit.record(actor=actor, action="other", verb="address.import", obj=service,
                 after={"job": job.pk, "dry_run": bool(dry_run), "bytes": len(data)})
    from ..tasks import run_address_import

    transaction.on_commit(lambda: run_address_import.delay(job.pk))
    return job


def import_again(*, actor, job: Job) -> Job:
    """Import for real the file a dry run checked (the page's "Import" after the preview)."""
    service = MailService.objects.get(pk=job.params["mail_service"])
    return import_start(actor=actor, service=service, data=job.payload.encode(), dry_run=False)


def _set_progress(job_id: int, percent: int) -> None:
    Job.objects.filter(pk=job_id, state=Job.State.RUNNING).update(progress=max(0, min(99, percent)))


def import_run(job_id: int) -> str:
    """Run a queued import (the worker's task); returns the state it ended in. Claimed by
    a conditional UPDATE: a second delivery of the task does nothing."""
    claimed = Job.objects.filter(pk=job_id, kind=IMPORT_KIND, state=Job.State.QUEUED).update(
        state=Job.State.RUNNING, started=timezone.now(), progress=0)
    if not claimed:
        return "skipped"
    job = Job.objects.select_related("actor").get(pk=job_id)
    errors, result = [], {}
    try:
        result = _import(job)
    except FileRefused as exc:
        errors = exc.errors
    except ServiceError as exc:  # the whole file: plan limits, the actor's role
        errors = [_error(None, "", exc.message)]
    except Exception:
        log.exception("address import %s failed", job_id)
        errors = [_error(None, "", _("The import failed unexpectedly; nothing was imported."))]
    state = Job.State.FAILED if errors else Job.State.DONE
    Job.objects.filter(pk=job_id).update(
        state=state, progress=100, errors=errors, result=result, finished=timezone.now(),
        # A dry run keeps the file for the import that may follow.
        payload=job.payload if job.params.get("dry_run") and not errors else "")
    return state


def _import(job: Job) -> dict:
    service = MailService.objects.get(pk=job.params["mail_service"])
    dry_run = job.params.get("dry_run", False)
    total = max(1, job.payload.count("\n"))
    # Reading and checking is most of the work: 0–80 %, in steps of a batch.
    rows = read_rows(service, job.payload,
                     progress=lambda done: _set_progress(job.pk, 40 * done // total))
    summary = {"addresses": len(rows), "aliases": sum(len(r.aliases) for r in rows),
               "redirections": sum(len(r.redirections) for r in rows),
               "users": sum(len(r.users) for r in rows)}
    count, allocated = address_room(service)
    check_room(service, count=count, allocated=allocated, new_count=len(rows),
               new_quota_mb=sum(r.address.quota_mb for r in rows), whole_file=True)
    if dry_run:
        return {**summary, "dry_run": True, "preview": [_preview(r) for r in rows[:PREVIEW_ROWS]]}
    _set_progress(job.pk, 80)
    _create(job.actor, service, rows)
    return {**summary, "dry_run": False}


def _preview(row: Row) -> dict:
    return {"line": row.line, "email": row.address.email, "display_name": row.address.display_name,
            "quota_mb": row.address.quota_mb, "enabled": row.address.enabled,
            "aliases": row.aliases, "redirections": [t for t, _k in row.redirections],
            "users": [e for e, _p in row.users]}


@transaction.atomic
def _create(actor, service: MailService, rows: list[Row]) -> None:
    """Everything at once, under the service's lock: the plan's limits and the local parts
    again (another write may have come since the rows were checked), then bulk inserts,
    their audit entries and one push."""
    service = lock_service(actor, service, ADD)
    count, allocated = address_room(service)
    check_room(service, count=count, allocated=allocated, new_count=len(rows),
               new_quota_mb=sum(r.address.quota_mb for r in rows), whole_file=True)
    errors: list[dict] = []
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        taken = taken_local_parts(service, {lp for r in batch
                                            for lp in [r.address.local_part, *r.aliases]})
        errors += [_error(r.line, "local_part", taken[lp].message) for r in batch
                   for lp in [r.address.local_part, *r.aliases] if lp in taken]
    if errors:
        raise FileRefused(errors)
    for row in rows:
        row.address.mail_service = service
    addresses = Address.objects.bulk_create([r.address for r in rows], batch_size=BATCH)
    aliases, redirections, accesses = [], [], []
    members = dict(Membership.objects.filter(organisation_id=service.organisation_id)
                   .annotate(login=Lower("user__email"))
                   .filter(login__in={e for r in rows for e, _p in r.users})
                   .values_list("login", "user_id")) if any(r.users for r in rows) else {}
    for row, address in zip(rows, addresses, strict=True):
        aliases += [Alias(address=address, mail_service=service, local_part=lp) for lp in row.aliases]
        redirections += [Redirection(address=address, target=t, keep_copy=k)
                         for t, k in row.redirections]
        accesses += [AddressAccess(address=address, user_id=members[e], permissions=p)
                     for e, p in row.users]
    aliases = Alias.objects.bulk_create(aliases, batch_size=BATCH)
    redirections = Redirection.objects.bulk_create(redirections, batch_size=BATCH)
    accesses = AddressAccess.objects.bulk_create(accesses, batch_size=BATCH)
    organisation_id = service.organisation_id
    entries = [audit.entry(actor=actor, action="create", obj=a, organisation=organisation_id,
                           after=audit.snapshot(a, ADDRESS_FIELDS)) for a in addresses]
    entries += [audit.entry(actor=actor, action="create", obj=a, organisation=organisation_id,
                            object_repr=f"{a.local_part}@{service.domain}",
                            after={"address": a.address_id, "local_part": a.local_part})
                for a in aliases]
    entries += [audit.entry(actor=actor, action="create", obj=r, organisation=organisation_id,
                            object_repr=f"{r.address.email} → {r.target}",
                            after={"address": r.address_id, "target": r.target,
                                   "keep_copy": r.keep_copy}) for r in redirections]
    emails = {v: k for k, v in members.items()}
    entries += [audit.entry(actor=actor, action="create", obj=a, organisation=organisation_id,
                            object_repr=f"{emails[a.user_id]} on {a.address.email}",
                            after={"user": a.user_id, "permissions": a.permissions})
                for a in accesses]
    audit.record_many(entries, batch_size=BATCH)
    apply_templates_to_new_addresses(actor=actor, addresses=addresses)
    push(service)


# --- export ----------------------------------------------------------------------------

def export_rows(service: MailService) -> Iterator[list[str]]:
    """The header, then one row per address of the service by local part, read BATCH
    addresses at a time (four queries per batch, whatever the number of aliases,
    redirections and users), so the file is never whole in memory."""
    yield COLUMNS
    last = ""
    while True:
        batch = list(Address.objects.filter(mail_service=service, local_part__gt=last)
                     .order_by("local_part")
                     .values_list("pk", "local_part", "display_name", "quota_mb", "enabled")[:BATCH])
        if not batch:
            return
        ids = [pk for pk, *_rest in batch]
        aliases, redirections, users = {}, {}, {}
        for address_id, local_part in (Alias.objects.filter(address_id__in=ids)
                                       .order_by("local_part").values_list("address_id", "local_part")):
            aliases.setdefault(address_id, []).append(local_part)
        for address_id, target, keep_copy in (Redirection.objects.filter(address_id__in=ids)
                                              .order_by("target")
                                              .values_list("address_id", "target", "keep_copy")):
            redirections.setdefault((address_id, keep_copy), []).append(target)
        for address_id, email, permissions in (AddressAccess.objects.filter(address_id__in=ids)
                                               .order_by("user__email")
                                               .values_list("address_id", "user__email",
                                                            "permissions")):
            users.setdefault(address_id, []).append(f"{email}:{'+'.join(sorted(permissions))}")
        for pk, local_part, display_name, quota_mb, enabled in batch:
            yield [local_part, display_name, str(quota_mb), "true" if enabled else "false",
                   " ".join(aliases.get(pk, [])), " ".join(redirections.get((pk, True), [])),
                   " ".join(redirections.get((pk, False), [])), " ".join(users.get(pk, []))]
        last = batch[-1][1]


class _Line:
    """A file-like object for csv.writer that hands back what was written."""

    def write(self, value):
        return value


def export_csv(service: MailService) -> Iterator[str]:
    """The export as CSV text, line by line (UTF-8 with a byte order mark, so that Excel
    reads the accents; the import accepts it)."""
    writer = csv.writer(_Line())
    yield "\ufeff"
    for row in export_rows(service):
        yield writer.writerow(row)
