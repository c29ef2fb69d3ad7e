from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.interval_name import IntervalName
from ..models.regime_name import RegimeName
from ..types import UNSET, Unset

T = TypeVar("T", bound="EventRegime")


@_attrs_define
class EventRegime:
    """A market's new regime."""

    interval: IntervalName
    """ A candle interval. """
    entries_allowed: bool
    """ Whether the gate's default policy now allows entries. """
    regime: None | RegimeName | Unset = UNSET
    previous: None | RegimeName | Unset = UNSET
    confidence: float | None | Unset = UNSET
    """ 0–1: how clearly the indicators show the regime. """
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        interval = self.interval.value

        entries_allowed = self.entries_allowed

        regime: None | str | Unset
        if isinstance(self.regime, Unset):
            regime = UNSET
        elif isinstance(self.regime, RegimeName):
            regime = self.regime.value
        else:
            regime = self.regime

        previous: None | str | Unset
        if isinstance(self.previous, Unset):
            previous = UNSET
        elif isinstance(self.previous, RegimeName):
            previous = self.previous.value
        else:
            previous = self.previous

        confidence: float | None | Unset
        if isinstance(self.confidence, Unset):
            confidence = UNSET
        else:
            confidence = self.confidence

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "interval": interval,
                "entries_allowed": entries_allowed,
            }
        )
        if regime is not UNSET:
            field_dict["regime"] = regime
        if previous is not UNSET:
            field_dict["previous"] = previous
        if confidence is not UNSET:
            field_dict["confidence"] = confidence

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        interval = IntervalName(d.pop("interval"))

        entries_allowed = d.pop("entries_allowed")

        def _parse_regime(data: object) -> None | RegimeName | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                regime_type_0 = RegimeName(data)

                return regime_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RegimeName | Unset, data)

        regime = _parse_regime(d.pop("regime", UNSET))

        def _parse_previous(data: object) -> None | RegimeName | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                previous_type_0 = RegimeName(data)

                return previous_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RegimeName | Unset, data)

        previous = _parse_previous(d.pop("previous", UNSET))

        def _parse_confidence(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        confidence = _parse_confidence(d.pop("confidence", UNSET))

        event_regime = cls(
            interval=interval,
            entries_allowed=entries_allowed,
            regime=regime,
            previous=previous,
            confidence=confidence,
        )

        event_regime.additional_properties = d
        return event_regime

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
