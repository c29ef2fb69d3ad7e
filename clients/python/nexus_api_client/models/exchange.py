from enum import StrEnum


class Exchange(StrEnum):
    BINANCE = "binance"
    COINBASE = "coinbase"
    KRAKEN = "kraken"
    PAPER = "paper"

    def __str__(self) -> str:
        return str(self.value)
