from enum import StrEnum


class BillingEventOutcome(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    IGNORED = "ignored"
    STALE = "stale"

    def __str__(self) -> str:
        return str(self.value)
