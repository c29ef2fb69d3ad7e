from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.trigger_anchor import TriggerAnchor
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.exposure_cap_type_0 import ExposureCapType0
    from ..models.exposure_cap_type_1 import ExposureCapType1
    from ..models.pyramid_level import PyramidLevel


T = TypeVar("T", bound="Pyramid")


@_attrs_define
class Pyramid:
    """How a bot adds to a position (docs/pyramiding.md); each field left out takes its default (no adds). With the anchor
    `average_entry` there is one level per add; with `last_fill` the last level repeats.

    """

    max_adds: int | None | Unset = 0
    """ Add-on levels after the initial entry. """
    anchor: TriggerAnchor | Unset = UNSET
    """ What a pyramid's triggers are measured from: the position's average entry price, or its last buy fill. """
    levels: list[PyramidLevel] | None | Unset = UNSET
    """ The levels, in order: at most `max_adds`. """
    cooldown_secs: int | None | Unset = 0
    """ The least time between two buys of the position, in seconds (at most 365 days). """
    max_exposure: ExposureCapType0 | ExposureCapType1 | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.exposure_cap_type_0 import ExposureCapType0  # noqa: PLC0415
        from ..models.exposure_cap_type_1 import ExposureCapType1  # noqa: PLC0415

        max_adds: int | None | Unset
        if isinstance(self.max_adds, Unset):
            max_adds = UNSET
        else:
            max_adds = self.max_adds

        anchor: str | Unset = UNSET
        if not isinstance(self.anchor, Unset):
            anchor = self.anchor.value

        levels: list[dict[str, Any]] | None | Unset
        if isinstance(self.levels, Unset):
            levels = UNSET
        elif isinstance(self.levels, list):
            levels = []
            for levels_type_0_item_data in self.levels:
                levels_type_0_item = levels_type_0_item_data.to_dict()
                levels.append(levels_type_0_item)

        else:
            levels = self.levels

        cooldown_secs: int | None | Unset
        if isinstance(self.cooldown_secs, Unset):
            cooldown_secs = UNSET
        else:
            cooldown_secs = self.cooldown_secs

        max_exposure: dict[str, Any] | None | Unset
        if isinstance(self.max_exposure, Unset):
            max_exposure = UNSET
        elif isinstance(self.max_exposure, ExposureCapType0):
            max_exposure = self.max_exposure.to_dict()
        elif isinstance(self.max_exposure, ExposureCapType1):
            max_exposure = self.max_exposure.to_dict()
        else:
            max_exposure = self.max_exposure

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if max_adds is not UNSET:
            field_dict["max_adds"] = max_adds
        if anchor is not UNSET:
            field_dict["anchor"] = anchor
        if levels is not UNSET:
            field_dict["levels"] = levels
        if cooldown_secs is not UNSET:
            field_dict["cooldown_secs"] = cooldown_secs
        if max_exposure is not UNSET:
            field_dict["max_exposure"] = max_exposure

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.exposure_cap_type_0 import ExposureCapType0  # noqa: PLC0415
        from ..models.exposure_cap_type_1 import ExposureCapType1  # noqa: PLC0415
        from ..models.pyramid_level import PyramidLevel  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_max_adds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_adds = _parse_max_adds(d.pop("max_adds", UNSET))

        _anchor = d.pop("anchor", UNSET)
        anchor: TriggerAnchor | Unset
        if isinstance(_anchor, Unset):
            anchor = UNSET
        else:
            anchor = TriggerAnchor(_anchor)

        def _parse_levels(data: object) -> list[PyramidLevel] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                levels_type_0 = []
                _levels_type_0 = data
                for levels_type_0_item_data in _levels_type_0:
                    levels_type_0_item = PyramidLevel.from_dict(levels_type_0_item_data)

                    levels_type_0.append(levels_type_0_item)

                return levels_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[PyramidLevel] | None | Unset, data)

        levels = _parse_levels(d.pop("levels", UNSET))

        def _parse_cooldown_secs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        cooldown_secs = _parse_cooldown_secs(d.pop("cooldown_secs", UNSET))

        def _parse_max_exposure(data: object) -> ExposureCapType0 | ExposureCapType1 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_exposure_cap_type_0 = ExposureCapType0.from_dict(data)

                return componentsschemas_exposure_cap_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_exposure_cap_type_1 = ExposureCapType1.from_dict(data)

                return componentsschemas_exposure_cap_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ExposureCapType0 | ExposureCapType1 | None | Unset, data)

        max_exposure = _parse_max_exposure(d.pop("max_exposure", UNSET))

        pyramid = cls(
            max_adds=max_adds,
            anchor=anchor,
            levels=levels,
            cooldown_secs=cooldown_secs,
            max_exposure=max_exposure,
        )

        return pyramid
