CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS offsets (
    source TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (source, partition));
CREATE TABLE IF NOT EXISTS rules (rule TEXT PRIMARY KEY, fingerprint TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    rule TEXT NOT NULL, story TEXT NOT NULL, article_id TEXT NOT NULL, at REAL NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (rule, story, article_id));
CREATE INDEX IF NOT EXISTS events_at ON events (rule, at);
-- each rule's story clustering (monitor/detect/stories.py), written when the rule's stories change
CREATE TABLE IF NOT EXISTS stories (rule TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS detectors (
    rule TEXT NOT NULL, story TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (rule, story));
-- status: pending -> sending -> sent | parked. 'sending' survives a crash between the post
-- and its record; the sender then looks for the alert key in Slack before posting again.
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    channel TEXT,
    rule TEXT NOT NULL, story TEXT NOT NULL, kind TEXT NOT NULL,
    at REAL NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    ts TEXT,
    sent_at REAL);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, seq);
CREATE TABLE IF NOT EXISTS threads (
    channel TEXT NOT NULL, rule TEXT NOT NULL, story TEXT NOT NULL,
    ts TEXT NOT NULL, channel_id TEXT, updated REAL NOT NULL,
    PRIMARY KEY (channel, rule, story));
-- a parent message edit (chat.update) that failed and waits to be retried: the latest alert per thread
CREATE TABLE IF NOT EXISTS parent_edits (
    channel TEXT NOT NULL, rule TEXT NOT NULL, story TEXT NOT NULL,
    payload TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL,
    last_error TEXT, PRIMARY KEY (channel, rule, story));
-- the feed's article counts per source ('' for all) and bucket (monitor/detect/feed.py)
CREATE TABLE IF NOT EXISTS feed (
    source TEXT NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (source, bucket));
-- alerts held for the rest of their story-moment (monitor/detect/moments.py)
CREATE TABLE IF NOT EXISTS held (key TEXT PRIMARY KEY, payload TEXT NOT NULL);
