from enum import StrEnum


class RiskSizingType(StrEnum):
    RISK = "risk"

    def __str__(self) -> str:
        return str(self.value)
