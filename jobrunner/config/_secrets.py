"""Keep secrets out of every message about a file: what ``${VAR}`` read, and secret keys.

A value can reach a message wherever it lands on the wrong type ("expected a
mapping, got the string '...'"), so rather than trusting each message to leave it
out, every issue is scrubbed once at the end of loading: each text read from the
environment, each value under a secret-bearing key (secret, password, token) and
each password inside a connection string (url, dsn) is replaced by ``***``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from jobrunner.config._limits import quote
from jobrunner.config._yaml import Document
from jobrunner.errors import Issue

_SECRET_KEY = re.compile(r"secret|password|passwd|token", re.IGNORECASE)
_CONNECTION_KEY = re.compile(r"url|dsn", re.IGNORECASE)
_LIBPQ_PASSWORD = re.compile(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")
# Shorter texts are scrubbed only where quoted, lest "1" vanish from every number.
_MIN_BARE = 4
MASK = "***"


def secrets_of(doc: Document) -> set[str]:
    """Every text of ``doc`` that no message may show."""
    found = {value for value in doc.secrets if value}
    _collect(doc.data, False, found)
    return found


def _collect(value: Any, secret: bool, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            name = str(key)
            if _CONNECTION_KEY.search(name) and isinstance(child, str):
                found.update(_passwords_in(child))
            _collect(child, secret or bool(_SECRET_KEY.search(name)), found)
    elif isinstance(value, list):
        for child in value:
            _collect(child, secret, found)
    elif secret and value is not None and not isinstance(value, bool):
        found.add(str(value))


def _passwords_in(text: str) -> set[str]:
    found = {match.group(1).strip("'") for match in _LIBPQ_PASSWORD.finditer(text)}
    try:
        password = urlsplit(text).password
    except ValueError:
        return found | {text}  # unparsable: hide it whole
    if password:
        found.add(password)
    return found


def redact(issues: Iterable[Issue], secrets: set[str]) -> list[Issue]:
    """``issues`` with every secret in their message or hint replaced by ``***``."""
    forms = _forms(secrets)
    if not forms:
        return list(issues)
    return [
        replace(
            issue,
            message=_scrub(issue.message, forms),
            hint=None if issue.hint is None else _scrub(issue.hint, forms),
        )
        if _shows(issue, forms)
        else issue
        for issue in issues
    ]


def _forms(secrets: set[str]) -> list[str]:
    """How each secret can appear: as is, quoted, escaped as repr escapes it, or cut short."""
    forms: set[str] = set()
    for secret in secrets:
        quoted = quote(secret)
        forms.add(quoted)
        if len(secret) >= _MIN_BARE:
            forms.update({secret, repr(secret)[1:-1], secret[:60]})
    # Longest first, so a secret inside another one does not leave a piece behind.
    return sorted(forms, key=len, reverse=True)


def _shows(issue: Issue, forms: list[str]) -> bool:
    return any(form in issue.message or form in (issue.hint or "") for form in forms)


def _scrub(text: str, forms: list[str]) -> str:
    for form in forms:
        if form in text:
            text = text.replace(form, f"'{MASK}'" if form.startswith(("'", '"')) else MASK)
    return text
