from enum import StrEnum


class OrderStateName(StrEnum):
    CANCELED = "canceled"
    EXPIRED = "expired"
    FAILED = "failed"
    FILLED = "filled"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    PENDING = "pending"
    REJECTED = "rejected"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return str(self.value)
