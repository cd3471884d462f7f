"""The API token's query, compiled once per process: a request runs the SQL with its own
values. Building and compiling the ORM query (the token, its user, and the ban check
folded in as an Exists) cost most of an authentication, several times what the database
spent answering it; the rows are still read fresh on every request, so a revoked token,
a deactivated user or a new ban counts at the next call (nothing of the answer is kept).

The SQL comes from the ORM with placeholder values, then each placeholder's position in
the parameters is known; rows become objects as the ORM's own iterator makes them."""
from datetime import UTC, datetime

from django.db import connections
from django.db.models.query import get_related_populators
from django.utils import timezone

from manager.security import services as bans

from .models import ApiToken

# Values no request sends, so their positions in the compiled parameters are unambiguous.
_HASH = "token-lookup-placeholder-hash"
_IP = "192.0.2.77"  # TEST-NET-1
_NOW = datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)


class _Compiled:
    def __init__(self, alias: str, with_ban: bool):
        tokens = ApiToken.objects.using(alias).select_related("user").filter(
            token_hash=_HASH, revoked__isnull=True).order_by()
        if with_ban:
            tokens = tokens.annotate(banned=bans.ban_applies(_IP, "user__email", now=_NOW))
        query = tokens[:1].query
        self.compiler = query.get_compiler(alias)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        ops = connections[alias].ops
        placeholders = {"hash": _HASH, "network": bans.network_of(_IP),
                        "now": ops.adapt_datetimefield_value(_NOW)}
        self.positions = {name: [i for i, p in enumerate(self.params) if p == value]
                          for name, value in placeholders.items()}
        expected = {"hash": 1, "network": int(with_ban), "now": int(with_ban)}
        if {k: len(v) for k, v in self.positions.items()} != expected:
            raise RuntimeError(f"token query placeholders not found once each: {self.sql}")
        select, klass_info, annotations = (self.compiler.select, self.compiler.klass_info,
                                           self.compiler.annotation_col_map)
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start:self.end]]
        self.populators = get_related_populators(klass_info, select, alias)
        self.annotations = annotations
        self.alias = alias

    def first(self, token_hash: str, network: str | None):
        params = list(self.params)
        for i in self.positions["hash"]:
            params[i] = token_hash
        for i in self.positions["network"]:
            params[i] = network
        now = connections[self.alias].ops.adapt_datetimefield_value(timezone.now())
        for i in self.positions["now"]:
            params[i] = now
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        for row in self.compiler.results_iter(results=[rows]):
            token = ApiToken.from_db(self.alias, self.init_list, row[self.start:self.end])
            for populator in self.populators:
                populator.populate(row, token)
            for name, position in self.annotations.items():
                setattr(token, name, row[position])
            return token
        return None


_compiled: dict[tuple[str, bool], _Compiled] = {}


def active_token(token_hash: str, ip: str) -> ApiToken | None:
    """The unrevoked token with this hash, its user loaded, and `banned` set when `ip` is an
    address: whether a ban from there applies to the token's account."""
    from django.db import router

    alias = router.db_for_read(ApiToken)
    network = bans.network_of(ip)
    key = (alias, network is not None)
    compiled = _compiled.get(key)
    if compiled is None:
        compiled = _compiled[key] = _Compiled(alias, network is not None)
    return compiled.first(token_hash, network)
