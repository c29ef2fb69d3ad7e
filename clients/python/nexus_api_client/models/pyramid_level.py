from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.trigger_type_0 import TriggerType0
    from ..models.trigger_type_1 import TriggerType1


T = TypeVar("T", bound="PyramidLevel")


@_attrs_define
class PyramidLevel:
    """An add-on level."""

    trigger: TriggerType0 | TriggerType1
    """ How far the price must move from the anchor: up (positive, adding to a winner) or down (negative, averaging
    down); never zero. """
    size_multiplier: float | str
    """ Its size relative to the initial entry (0.5: half of it). """

    def to_dict(self) -> dict[str, Any]:
        from ..models.trigger_type_0 import TriggerType0  # noqa: PLC0415

        trigger: dict[str, Any]
        if isinstance(self.trigger, TriggerType0):
            trigger = self.trigger.to_dict()
        else:
            trigger = self.trigger.to_dict()

        size_multiplier: float | str
        size_multiplier = self.size_multiplier

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "trigger": trigger,
                "size_multiplier": size_multiplier,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.trigger_type_0 import TriggerType0  # noqa: PLC0415
        from ..models.trigger_type_1 import TriggerType1  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_trigger(data: object) -> TriggerType0 | TriggerType1:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_trigger_type_0 = TriggerType0.from_dict(data)

                return componentsschemas_trigger_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_trigger_type_1 = TriggerType1.from_dict(data)

            return componentsschemas_trigger_type_1

        trigger = _parse_trigger(d.pop("trigger"))

        def _parse_size_multiplier(data: object) -> float | str:
            return cast(float | str, data)

        size_multiplier = _parse_size_multiplier(d.pop("size_multiplier"))

        pyramid_level = cls(
            trigger=trigger,
            size_multiplier=size_multiplier,
        )

        return pyramid_level
