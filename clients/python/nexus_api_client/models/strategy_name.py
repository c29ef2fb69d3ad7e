from enum import StrEnum


class StrategyName(StrEnum):
    TREND_BREAKOUT = "trend_breakout"
    WEBHOOK = "webhook"

    def __str__(self) -> str:
        return str(self.value)
