-- The PostgreSQL twin of schema.sql: the same tables, columns and meanings (see there).
-- Applied on every connect, in one transaction under an advisory lock.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS offsets (
    source TEXT NOT NULL, partition BIGINT NOT NULL, next_offset BIGINT NOT NULL,
    PRIMARY KEY (source, partition));
CREATE TABLE IF NOT EXISTS rules (rule TEXT PRIMARY KEY, fingerprint TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    rule TEXT NOT NULL, story TEXT NOT NULL, article_id TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (rule, story, article_id));
CREATE INDEX IF NOT EXISTS events_at ON events (rule, at);
CREATE TABLE IF NOT EXISTS stories (rule TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS detectors (
    rule TEXT NOT NULL, story TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (rule, story));
-- status: pending -> sending -> sent | parked. A sender holds an advisory lock on the channel
-- while its head alert is 'sending', so a 'sending' row nobody holds is a crashed attempt.
CREATE TABLE IF NOT EXISTS outbox (
    seq BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    channel TEXT,
    rule TEXT NOT NULL, story TEXT NOT NULL, kind TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    payload TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error TEXT,
    ts TEXT,
    sent_at DOUBLE PRECISION);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, seq);
CREATE TABLE IF NOT EXISTS threads (
    channel TEXT NOT NULL, rule TEXT NOT NULL, story TEXT NOT NULL,
    ts TEXT NOT NULL, channel_id TEXT, updated DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (channel, rule, story));
CREATE TABLE IF NOT EXISTS parent_edits (
    channel TEXT NOT NULL, rule TEXT NOT NULL, story TEXT NOT NULL,
    payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at DOUBLE PRECISION NOT NULL,
    last_error TEXT, PRIMARY KEY (channel, rule, story));
CREATE TABLE IF NOT EXISTS feed (
    source TEXT NOT NULL, bucket BIGINT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (source, bucket));
-- rowid: the insertion order that SQLite keeps by itself (the held alerts are read back in it)
CREATE TABLE IF NOT EXISTS held (key TEXT PRIMARY KEY, payload TEXT NOT NULL, rowid BIGSERIAL);
