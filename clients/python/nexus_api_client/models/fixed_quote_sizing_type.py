from enum import StrEnum


class FixedQuoteSizingType(StrEnum):
    FIXED_QUOTE = "fixed_quote"

    def __str__(self) -> str:
        return str(self.value)
