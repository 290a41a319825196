"""Forms of the import pages: the column mapping (one choice per column), running an import, undoing one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.imports.reader import MAX_COLUMNS
from app.web.params import VersionToken


class _MappingBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    save_as: str | None = Field(default=None, title="Save this mapping as", max_length=80)
    version: VersionToken = Field(default=None, title="Version")

    def chosen(self, columns: int) -> list[str]:
        return [getattr(self, f"col_{index}") or "" for index in range(columns)]


# One select per column, named col_0, col_1 ... so that each has its own label and error; a sheet has at most
# MAX_COLUMNS columns (app/imports/reader.py).
_COLUMNS: dict[str, Any] = {
    f"col_{index}": (str | None, Field(default=None, title=f"Column {index + 1}", max_length=40))
    for index in range(MAX_COLUMNS)
}
MappingForm = create_model("MappingForm", __base__=_MappingBase, **_COLUMNS)


class RunForm(BaseModel):
    """Importing a checked file: the run's version, and that the likely duplicates were looked at."""

    model_config = ConfigDict(extra="forbid")

    version: VersionToken = Field(default=None, title="Version")
    duplicates_checked: bool = Field(default=False, title="I have checked the likely duplicates")


class UndoForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: VersionToken = Field(default=None, title="Version")
