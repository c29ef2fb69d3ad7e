from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.risk_sizing_type import RiskSizingType

if TYPE_CHECKING:
    from ..models.stop_distance_type_0 import StopDistanceType0
    from ..models.stop_distance_type_1 import StopDistanceType1


T = TypeVar("T", bound="RiskSizing")


@_attrs_define
class RiskSizing:
    """Lose at most `risk_percent` of equity if the stop is hit."""

    type_: RiskSizingType
    risk_percent: float | str
    """ Equity at risk, in percent. """
    stop: StopDistanceType0 | StopDistanceType1
    """ Where the stop is. """

    def to_dict(self) -> dict[str, Any]:
        from ..models.stop_distance_type_0 import StopDistanceType0  # noqa: PLC0415

        type_ = self.type_.value

        risk_percent: float | str
        risk_percent = self.risk_percent

        stop: dict[str, Any]
        if isinstance(self.stop, StopDistanceType0):
            stop = self.stop.to_dict()
        else:
            stop = self.stop.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "type": type_,
                "risk_percent": risk_percent,
                "stop": stop,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.stop_distance_type_0 import StopDistanceType0  # noqa: PLC0415
        from ..models.stop_distance_type_1 import StopDistanceType1  # noqa: PLC0415

        d = dict(src_dict)
        type_ = RiskSizingType(d.pop("type"))

        def _parse_risk_percent(data: object) -> float | str:
            return cast(float | str, data)

        risk_percent = _parse_risk_percent(d.pop("risk_percent"))

        def _parse_stop(data: object) -> StopDistanceType0 | StopDistanceType1:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_stop_distance_type_0 = StopDistanceType0.from_dict(data)

                return componentsschemas_stop_distance_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            componentsschemas_stop_distance_type_1 = StopDistanceType1.from_dict(data)

            return componentsschemas_stop_distance_type_1

        stop = _parse_stop(d.pop("stop"))

        risk_sizing = cls(
            type_=type_,
            risk_percent=risk_percent,
            stop=stop,
        )

        return risk_sizing
