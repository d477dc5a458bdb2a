"""The service's typed errors: bad data is permanent, everything else is worth a retry."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class FieldError:
    """One attribute that failed validation, and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field} {self.message}"


class InvalidProgramme(ValueError):
    """A programme item that can never be scheduled as written: report it, never retry it."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors) or [FieldError("item", "is not a valid programme")]
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """All field errors in one line, for the item's `notification_error`."""
        return "; ".join(str(error) for error in self.errors)


def describe_type(value: object) -> str:
    """Name a deserialised DynamoDB value's type as a user of the console sees it."""
    names = {
        str: "a string (S)",
        bool: "a boolean (BOOL)",
        Decimal: "a number (N)",
        int: "a number (N)",
        float: "a number (N)",
        dict: "a map (M)",
        list: "a list (L)",
        set: "a set (SS/NS/BS)",
        bytes: "binary (B)",
        type(None): "null (NULL)",
    }
    for kind, name in names.items():
        if type(value) is kind:
            return name
    if type(value).__name__ == "Binary":
        return "binary (B)"
    return type(value).__name__
