"""A validation error in the words of the rule that refused the value.

pydantic reports a rule of ours (a ``field_validator`` raising ``ValueError``) as
"Value error, <our text>": the prefix is pydantic's name for the kind of error, which a user
reading a refused setting, hook event or request should not have to decode.
"""

from __future__ import annotations

from typing import Any


def error_words(error: Any) -> str:
    """One entry of ``ValidationError.errors()`` as a user should read it."""
    cause = (error.get("ctx") or {}).get("error")
    if error.get("type") == "value_error" and cause is not None:
        return str(cause)
    return str(error["msg"])


def first_error(errors: list[Any], fallback: str) -> str:
    """The first refusal as "where: what" (``fallback`` names a whole-object refusal)."""
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or fallback
    return f"{where}: {error_words(first)}"
