from enum import StrEnum


class GatePolicyAdvisor(StrEnum):
    FOLLOW = "follow"
    IGNORE = "ignore"

    def __str__(self) -> str:
        return str(self.value)
