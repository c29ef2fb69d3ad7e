from enum import StrEnum


class GateActionName(StrEnum):
    ADD = "add"
    ENTRY = "entry"
    EXIT = "exit"

    def __str__(self) -> str:
        return str(self.value)
