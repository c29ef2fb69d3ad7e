from enum import StrEnum


class TriggerAnchor(StrEnum):
    AVERAGE_ENTRY = "average_entry"
    LAST_FILL = "last_fill"

    def __str__(self) -> str:
        return str(self.value)
