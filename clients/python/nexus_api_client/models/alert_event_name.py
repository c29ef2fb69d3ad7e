from enum import StrEnum


class AlertEventName(StrEnum):
    ERRORS = "errors"
    FILLS = "fills"
    GATE_BLOCKS = "gate_blocks"

    def __str__(self) -> str:
        return str(self.value)
