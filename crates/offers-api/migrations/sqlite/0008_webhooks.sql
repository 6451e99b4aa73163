-- Issue 15: webhooks. Times are Unix epoch milliseconds.

-- A project's endpoints. `events` is the JSON array of subscribed event types as registered
-- (`offer.impression`, `offer.click`, `offer.close`, `conversion`); `event_mask` holds the
-- same set as bits (1, 2, 4, 8) so the enqueueing statements test it without parsing JSON.
-- `secret` signs the deliveries (`Offers-Signature`); it is shown once, when created.
-- Deleting a webhook deletes its outbox rows and its delivery log.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    event_mask INTEGER NOT NULL,
    secret     TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE INDEX webhooks_by_project ON webhooks (project_id, id);

-- The outbox: one row per (webhook, event), written in the transaction that stores the event
-- (so it survives restarts and is never written for a rolled-back event). `payload` is the
-- event's JSON object as delivered. `state`: pending, delivered or failed (given up 24 h after
-- `created_ms`). A worker claims a row by setting `claimed_until_ms` (a lease): other workers
-- skip it until then.
CREATE TABLE webhook_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type       TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_ms       INTEGER NOT NULL,
    next_ms          INTEGER NOT NULL,
    claimed_until_ms INTEGER NOT NULL DEFAULT 0,
    UNIQUE (webhook_id, event_type, event_id)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_ms) WHERE state = 'pending';
CREATE INDEX webhook_outbox_by_webhook ON webhook_outbox (webhook_id, id)
    WHERE state = 'pending';
CREATE INDEX webhook_outbox_by_time ON webhook_outbox (created_ms);

-- The delivery log: one row per POST. `event_ids` is a JSON array; `status`: delivered (2xx),
-- retrying (failed, will be retried) or failed (failed, and some of its events were given up).
CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    at_ms       INTEGER NOT NULL,
    event_ids   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('delivered', 'retrying', 'failed')),
    http_status INTEGER,
    error       TEXT,
    attempt     INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (at_ms);
