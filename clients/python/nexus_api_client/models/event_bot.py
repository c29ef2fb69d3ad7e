from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.bot_change import BotChange
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.bot import Bot


T = TypeVar("T", bound="EventBot")


@_attrs_define
class EventBot:
    """A bot's change."""

    change: BotChange
    """ What happened to a bot. """
    bot: Bot | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.bot import Bot  # noqa: PLC0415

        change = self.change.value

        bot: dict[str, Any] | None | Unset
        if isinstance(self.bot, Unset):
            bot = UNSET
        elif isinstance(self.bot, Bot):
            bot = self.bot.to_dict()
        else:
            bot = self.bot

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "change": change,
            }
        )
        if bot is not UNSET:
            field_dict["bot"] = bot

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bot import Bot  # noqa: PLC0415

        d = dict(src_dict)
        change = BotChange(d.pop("change"))

        def _parse_bot(data: object) -> Bot | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                bot_type_0 = Bot.from_dict(data)

                return bot_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Bot | None | Unset, data)

        bot = _parse_bot(d.pop("bot", UNSET))

        event_bot = cls(
            change=change,
            bot=bot,
        )

        event_bot.additional_properties = d
        return event_bot

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
