from enum import StrEnum


class OrderKind(StrEnum):
    LIMIT = "limit"
    MARKET = "market"

    def __str__(self) -> str:
        return str(self.value)
