"""Messages from the dispatch centre to crews."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from dispatch.schemas import StrictIn


class MessageIn(StrictIn):

    text: str = Field(min_length=1, max_length=1000)
    unit_id: str | None = Field(default=None, max_length=32, description="one unit's tablet")
    all_crews: bool = Field(default=False, description="every crew tablet")
    urgent: bool = False

    @model_validator(mode="after")
    def _one_audience(self) -> MessageIn:
        if bool(self.unit_id) == self.all_crews:
            raise ValueError("give either unit_id or all_crews: true")
        return self


class MessageOut(BaseModel):
    event_id: str | None
    text: str
    unit_id: str | None
    all_crews: bool
    urgent: bool
    sender: str
