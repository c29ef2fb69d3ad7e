from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.advisor_use import AdvisorUse
from ..models.regime import Regime
from ..types import UNSET, Unset

T = TypeVar("T", bound="GatePolicy")


@_attrs_define
class GatePolicy:
    """When the market-regime gate lets the bot trade (docs/regime.md); each field left out takes its default. Exits are
    always allowed.

    """

    entry_regimes: list[Regime] | None | Unset = UNSET
    """ Regimes in which entries are allowed. """
    add_regimes: list[Regime] | None | Unset = UNSET
    """ Regimes in which pyramid adds are allowed. """
    max_data_age_secs: int | None | Unset = 60
    """ Market data older than this, in seconds, blocks entries and adds. """
    advisor_error_blocks: bool | None | Unset = False
    """ Whether an advisor error or timeout blocks (fail closed) instead of counting as no opinion. """
    advisor: AdvisorUse | Unset = UNSET
    """ Whether a gate policy follows the LLM advisor's opinions (`follow`) or ignores them and its errors
    (`ignore`). """

    def to_dict(self) -> dict[str, Any]:
        entry_regimes: list[str] | None | Unset
        if isinstance(self.entry_regimes, Unset):
            entry_regimes = UNSET
        elif isinstance(self.entry_regimes, list):
            entry_regimes = []
            for entry_regimes_type_0_item_data in self.entry_regimes:
                entry_regimes_type_0_item = entry_regimes_type_0_item_data.value
                entry_regimes.append(entry_regimes_type_0_item)

        else:
            entry_regimes = self.entry_regimes

        add_regimes: list[str] | None | Unset
        if isinstance(self.add_regimes, Unset):
            add_regimes = UNSET
        elif isinstance(self.add_regimes, list):
            add_regimes = []
            for add_regimes_type_0_item_data in self.add_regimes:
                add_regimes_type_0_item = add_regimes_type_0_item_data.value
                add_regimes.append(add_regimes_type_0_item)

        else:
            add_regimes = self.add_regimes

        max_data_age_secs: int | None | Unset
        if isinstance(self.max_data_age_secs, Unset):
            max_data_age_secs = UNSET
        else:
            max_data_age_secs = self.max_data_age_secs

        advisor_error_blocks: bool | None | Unset
        if isinstance(self.advisor_error_blocks, Unset):
            advisor_error_blocks = UNSET
        else:
            advisor_error_blocks = self.advisor_error_blocks

        advisor: str | Unset = UNSET
        if not isinstance(self.advisor, Unset):
            advisor = self.advisor.value

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if entry_regimes is not UNSET:
            field_dict["entry_regimes"] = entry_regimes
        if add_regimes is not UNSET:
            field_dict["add_regimes"] = add_regimes
        if max_data_age_secs is not UNSET:
            field_dict["max_data_age_secs"] = max_data_age_secs
        if advisor_error_blocks is not UNSET:
            field_dict["advisor_error_blocks"] = advisor_error_blocks
        if advisor is not UNSET:
            field_dict["advisor"] = advisor

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_entry_regimes(data: object) -> list[Regime] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                entry_regimes_type_0 = []
                _entry_regimes_type_0 = data
                for entry_regimes_type_0_item_data in _entry_regimes_type_0:
                    entry_regimes_type_0_item = Regime(entry_regimes_type_0_item_data)

                    entry_regimes_type_0.append(entry_regimes_type_0_item)

                return entry_regimes_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[Regime] | None | Unset, data)

        entry_regimes = _parse_entry_regimes(d.pop("entry_regimes", UNSET))

        def _parse_add_regimes(data: object) -> list[Regime] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                add_regimes_type_0 = []
                _add_regimes_type_0 = data
                for add_regimes_type_0_item_data in _add_regimes_type_0:
                    add_regimes_type_0_item = Regime(add_regimes_type_0_item_data)

                    add_regimes_type_0.append(add_regimes_type_0_item)

                return add_regimes_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[Regime] | None | Unset, data)

        add_regimes = _parse_add_regimes(d.pop("add_regimes", UNSET))

        def _parse_max_data_age_secs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_data_age_secs = _parse_max_data_age_secs(d.pop("max_data_age_secs", UNSET))

        def _parse_advisor_error_blocks(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        advisor_error_blocks = _parse_advisor_error_blocks(d.pop("advisor_error_blocks", UNSET))

        _advisor = d.pop("advisor", UNSET)
        advisor: AdvisorUse | Unset
        if isinstance(_advisor, Unset):
            advisor = UNSET
        else:
            advisor = AdvisorUse(_advisor)

        gate_policy = cls(
            entry_regimes=entry_regimes,
            add_regimes=add_regimes,
            max_data_age_secs=max_data_age_secs,
            advisor_error_blocks=advisor_error_blocks,
            advisor=advisor,
        )

        return gate_policy
