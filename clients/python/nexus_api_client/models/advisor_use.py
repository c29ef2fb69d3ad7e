from enum import StrEnum


class AdvisorUse(StrEnum):
    FOLLOW = "follow"
    IGNORE = "ignore"

    def __str__(self) -> str:
        return str(self.value)
