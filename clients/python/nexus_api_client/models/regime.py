from enum import StrEnum


class Regime(StrEnum):
    BEAR = "bear"
    BULL = "bull"
    SIDEWAYS = "sideways"
    VOLATILE = "volatile"

    def __str__(self) -> str:
        return str(self.value)
