"""Form helpers every feature's forms.py shares."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation
from wtforms.widgets import URLInput

from app.domain.meeting_links import InvalidMeetingLink, clean_meeting_link


def choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs (tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]


class MeetingLinkField(StringField):
    """A video meeting link: blank (None) or an https address (app.domain.meeting_links)."""

    widget = URLInput()

    def pre_validate(self, form) -> None:
        try:
            self.data = clean_meeting_link(self.data)
        except InvalidMeetingLink as exc:
            raise StopValidation(str(exc)) from exc
