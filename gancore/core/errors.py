"""User-facing errors.

Every mistake a user can make (bad recipe, unknown component, missing data or plugin pack,
corrupt checkpoint) raises a :class:`GancoreError`. The CLI prints it as one message and exits
with status 2; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class GancoreError(Exception):
    """An error caused by user input, printed without a traceback.

    ``source`` is the file at fault, ``key`` the recipe key path (``generator.blocks[3].type``),
    ``hint`` what to do about it.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.key = key
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.source and self.key:
            where = f"{self.source}: {self.key}: "
        elif self.source:
            where = f"{self.source}: "
        elif self.key:
            where = f"{self.key}: "
        text = where + self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def located(self, source: str | None = None, key_prefix: str | None = None) -> GancoreError:
        """Return this error with a file and/or key prefix filled in where missing."""
        if source and not self.source:
            self.source = source
        if key_prefix:
            self.key = (
                f"{key_prefix}.{self.key}"
                if self.key and not self.key.startswith("[")
                else (f"{key_prefix}{self.key}" if self.key else key_prefix)
            )
        self.args = (self.format(),)
        return self


class RecipeError(GancoreError):
    """A recipe that cannot be loaded, validated or built."""


class UnknownComponentError(GancoreError, KeyError):
    """A component name that is not registered (with did-you-mean suggestions)."""

    def __init__(
        self,
        kind: str,
        name: str,
        available: Iterable[str],
        *,
        key: str | None = None,
        source: str | None = None,
    ) -> None:
        names = sorted(available)
        self.kind = kind
        self.name = name
        self.available = names
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        msg = f"unknown {kind} {name!r}"
        if close:
            msg += f"; did you mean {' or '.join(repr(c) for c in close)}?"
        hint = "available: " + (", ".join(names) if names else "(none registered)")
        hint += f". `gancore list {kind}` shows them; a plugin pack may provide more."
        GancoreError.__init__(self, msg, key=key, source=source, hint=hint)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.format()


class AmbiguousComponentError(GancoreError, KeyError):
    """A bare component name that several plugin packs register."""

    def __init__(self, kind: str, name: str, qualified: Iterable[str], *,
                 key: str | None = None, source: str | None = None) -> None:
        self.kind, self.name = kind, name
        self.qualified = sorted(qualified)
        spellings = " or ".join(repr(q) for q in self.qualified)
        GancoreError.__init__(
            self, f"{kind} {name!r} is registered by several plugin packs: write {spellings}",
            key=key, source=source,
            hint="a qualified name (origin:name) says which pack's component is meant; "
            "`gancore plugins` lists the names several packs register")

    def __str__(self) -> str:
        return self.format()


class DuplicateComponentError(GancoreError):
    """Two plugins registered the same kind/name."""


class PluginError(GancoreError):
    """A plugin pack failed to load (fatal only with ``--strict-plugins``)."""


class ContractError(GancoreError, AssertionError):
    """A component that breaks its kind's contract (:mod:`gancore.core.contract`).

    The message names the kind, the component, the pack it comes from and the clause broken.
    It is also an ``AssertionError``, so a failed conformance check reads as a test failure.
    """


class CheckpointError(GancoreError):
    """A checkpoint that is corrupt, truncated, too new, or needs a missing plugin pack."""


class ExportError(GancoreError):
    """A generator that cannot be exported, or whose export does not match gancore's output."""


class DataError(GancoreError):
    """A dataset whose files are missing, empty or unreadable."""


class WriteError(GancoreError):
    """A file or folder gancore cannot write (a folder in the way, read-only, disk full)."""


class BusyError(GancoreError):
    """A folder (or file) another process is writing: its one-writer lock is held.

    ``holder`` describes that process (pid, host, command, start time) where it could be read.
    """

    holder: str | None = None


def suggest(name: str, candidates: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` for a close match, else an empty string."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""
