-- Why the engine paused a bot (its work panicked: `internal_error: …`), shown to its
-- owner; NULL when the owner paused it or it runs. Resuming the bot clears it.
ALTER TABLE bots ADD COLUMN paused_reason TEXT;
