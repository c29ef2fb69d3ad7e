from enum import StrEnum


class RegimeName(StrEnum):
    BEAR = "bear"
    BULL = "bull"
    SIDEWAYS = "sideways"
    VOLATILE = "volatile"

    def __str__(self) -> str:
        return str(self.value)
