from enum import StrEnum


class BotChange(StrEnum):
    CREATED = "created"
    DELETED = "deleted"
    PAUSED = "paused"
    UPDATED = "updated"

    def __str__(self) -> str:
        return str(self.value)
