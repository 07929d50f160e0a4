"""The base of every domain model: immutable, strict about unknown fields."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Id = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]*$"),
]
"""An external identifier: letters, digits and ``_ . : / -``, starting with a letter or digit."""


class DomainModel(BaseModel):
    """Frozen pydantic model that rejects unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


BufferId = Annotated[
    str,
    StringConstraints(max_length=260, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]*->[A-Za-z0-9][A-Za-z0-9_.:/\-]*$"),
]
"""A buffer: ``UPSTREAM->DOWNSTREAM`` (station ids)."""
