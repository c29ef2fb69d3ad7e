-- The advisor's calls to language models. An answered call is also the cached verdict of
-- its market, candle and action: the first one is reused by every instance. The
-- llm_usage table of 0001 was never written; it is replaced.
DROP TABLE llm_usage;
CREATE TABLE llm_calls (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    provider    TEXT NOT NULL,
    model       TEXT NOT NULL,
    exchange    TEXT NOT NULL,
    symbol      TEXT NOT NULL,
    interval    TEXT NOT NULL,
    candle      TIMESTAMPTZ NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('entry', 'add')),
    prompt_hash TEXT NOT NULL,
    request     TEXT NOT NULL,
    response    TEXT,
    tokens_in   BIGINT NOT NULL,
    tokens_out  BIGINT NOT NULL,
    cost_usd    NUMERIC,
    latency_ms  BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    verdict     TEXT CHECK (verdict IN ('allow', 'block')),
    reason      TEXT
);
CREATE INDEX llm_calls_at ON llm_calls (at);
CREATE INDEX llm_calls_key ON llm_calls (exchange, symbol, interval, candle, action, id);
