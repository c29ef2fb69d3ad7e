from enum import StrEnum


class EmailStateName(StrEnum):
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    FAILED = "failed"
    QUEUED = "queued"
    RETRYING = "retrying"
    SENT = "sent"
    SUPPRESSED = "suppressed"

    def __str__(self) -> str:
        return str(self.value)
