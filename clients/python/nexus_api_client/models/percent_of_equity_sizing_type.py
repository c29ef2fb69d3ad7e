from enum import StrEnum


class PercentOfEquitySizingType(StrEnum):
    PERCENT_OF_EQUITY = "percent_of_equity"

    def __str__(self) -> str:
        return str(self.value)
