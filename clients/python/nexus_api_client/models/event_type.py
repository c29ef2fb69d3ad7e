from enum import StrEnum


class EventType(StrEnum):
    BOT = "bot"
    FILL = "fill"
    ORDER = "order"
    POSITION = "position"
    REGIME = "regime"
    RESET = "reset"

    def __str__(self) -> str:
        return str(self.value)
