"""Postfix's texthash maps on disk: per-domain fragments, the combined tables, their faults.

Postfix needs one file per table while the control plane thinks per domain, so each domain
gets a fragment per map kind and the tables Postfix reads are regenerated from them all.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from .base import ServiceState
from .config import DovecotPostfixConfig
from .render import (
    COMBINED_NAMES,
    MAP_KINDS,
    combine_fragments,
    entry_domain,
    parse_map,
    render_fragments,
)
from .tools import Tools


class PostfixMaps:
    """The maps under ``config.maps_dir``; callers hold the adapter's lock around writes."""

    def __init__(self, config: DovecotPostfixConfig, tools: Tools):
        self.config = config
        self.tools = tools

    def ensure(self) -> None:
        """Create the fragments directory and empty combined tables if absent."""
        self.config.fragments_dir.mkdir(parents=True, exist_ok=True)
        for kind in MAP_KINDS:
            path = self.config.combined_map(kind)
            if not path.exists():
                _write_atomic(path, combine_fragments(kind, {}))

    def _fragment_path(self, domain: str, kind: str) -> Path:
        return self.config.fragments_dir / f"{domain}.{kind}"

    def write_fragments(self, domain: str, fragments: Mapping[str, str] | None) -> None:
        for kind in MAP_KINDS:
            path = self._fragment_path(domain, kind)
            if fragments is None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            elif _read(path) != fragments[kind]:
                _write_atomic(path, fragments[kind])

    def _all_fragments(self, kind: str) -> dict[str, str]:
        suffix = f".{kind}"
        return {
            p.name[: -len(suffix)]: p.read_text()
            for p in self.config.fragments_dir.glob(f"*{suffix}")
            if not p.name.startswith(".")
        }

    def sync_combined_maps(self) -> None:
        changed = False
        for kind in MAP_KINDS:
            path = self.config.combined_map(kind)
            text = combine_fragments(kind, self._all_fragments(kind))
            if _read(path) != text:
                _write_atomic(path, text)
                changed = True
        # A failed reload leaves a marker so that the next apply retries it even though
        # the files are then already up to date.
        pending = self.config.maps_dir / ".reload-pending"
        if changed or pending.exists():
            pending.touch()
            self.tools.reload_postfix()
            pending.unlink()

    def faults(self, recorded: ServiceState | None, domain: str) -> list[str]:
        """Where the map files disagree with what the record of ``domain`` renders to."""
        expected = render_fragments(recorded) if recorded is not None else {}
        faults = []
        for kind in MAP_KINDS:
            want = sorted(parse_map(expected.get(kind, "")))
            fragment = self._fragment_path(domain, kind)
            sources = {
                f"domains.d/{fragment.name}": parse_map(_read(fragment) or ""),
                COMBINED_NAMES[kind]: [
                    entry
                    for entry in parse_map(_read(self.config.combined_map(kind)) or "")
                    if entry_domain(kind, entry[0]) == domain
                ],
            }
            for name, entries in sources.items():
                have = sorted(entries)
                for key, value in sorted(set(have) - set(want)):
                    faults.append(f"{name}: unexpected line {f'{key} {value}'.strip()!r}")
                for key, value in sorted(set(want) - set(have)):
                    faults.append(f"{name}: missing line {f'{key} {value}'.strip()!r}")
                if len(have) != len(set(have)):
                    faults.append(f"{name}: duplicate lines")
        return faults


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _write_atomic(path: Path, text: str) -> None:
    """Write then rename, so a reader (postfix reload) never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        # Postfix re-reads a texthash file whose mtime is under ~2 s old, pausing 300 ms
        # each time ("let the file cool down", against in-place writers), which stalls
        # every daemon started by the reload. A renamed file is never written in place.
        past = time.time() - 10
        os.utime(tmp, (past, past))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
