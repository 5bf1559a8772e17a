-- Parcelbay lab schema.
--
-- The one schema every SQL block in examples/*.md runs against. Everything
-- lives in the `parcelbay` schema and the runbooks always qualify names
-- (parcelbay.label_jobs), so no search_path setting is needed.
--
-- Load order: schema.sql, then faults.sql (baseline data + one section per
-- fault). Both files are plain SQL, re-runnable after DROP SCHEMA parcelbay
-- CASCADE.

CREATE SCHEMA IF NOT EXISTS parcelbay;

-- Carriers we buy labels from. max_concurrent_jobs is the number of label
-- purchases the worker keeps in flight per carrier (the carriers rate-limit
-- us); the worker counts label_jobs rows in status 'running' to enforce it.
CREATE TABLE parcelbay.carriers (
    code                text PRIMARY KEY,
    name                text NOT NULL,
    max_concurrent_jobs integer NOT NULL DEFAULT 4 CHECK (max_concurrent_jobs > 0),
    active              boolean NOT NULL DEFAULT true
);

CREATE TABLE parcelbay.merchants (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- API keys. The full token is shown once at creation and never stored; we
-- keep its prefix (shown in the dashboard and logs) and a SHA-256 hash.
CREATE TABLE parcelbay.api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id  text NOT NULL REFERENCES parcelbay.merchants (id),
    key_prefix   text NOT NULL UNIQUE,
    key_hash     text NOT NULL,
    label        text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE parcelbay.shipments (
    id               text PRIMARY KEY,
    merchant_id      text NOT NULL REFERENCES parcelbay.merchants (id),
    carrier          text NOT NULL REFERENCES parcelbay.carriers (code),
    service_level    text NOT NULL DEFAULT 'ground',
    status           text NOT NULL DEFAULT 'created'
                     CHECK (status IN ('created', 'label_pending', 'labelled', 'in_transit',
                                       'delivered', 'cancelled', 'exception')),
    tracking_number  text UNIQUE,
    carrier_label_id text,          -- the label in use; other labels bought for it are extras
    label_cost_cents integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The label worker's job queue. A worker claims a job with
-- SELECT ... FOR UPDATE SKIP LOCKED, sets status 'running', locked_at,
-- locked_by (its pod name) and attempts + 1, calls the carrier, then sets
-- 'done' (or back to 'queued' with run_after in the future, or 'failed' once
-- attempts reaches max_attempts).
CREATE TABLE parcelbay.label_jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipment_id  text NOT NULL REFERENCES parcelbay.shipments (id),
    carrier      text NOT NULL REFERENCES parcelbay.carriers (code),
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 5,
    run_after    timestamptz NOT NULL DEFAULT now(),
    locked_at    timestamptz,
    locked_by    text,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    CHECK ((status = 'running') = (locked_at IS NOT NULL))
);
CREATE INDEX label_jobs_claim_idx ON parcelbay.label_jobs (carrier, run_after)
    WHERE status = 'queued';
CREATE INDEX label_jobs_running_idx ON parcelbay.label_jobs (locked_at)
    WHERE status = 'running';

-- What the carrier charged us (and we charged the merchant) per label bought.
CREATE TABLE parcelbay.label_charges (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    shipment_id      text NOT NULL REFERENCES parcelbay.shipments (id),
    label_job_id     bigint REFERENCES parcelbay.label_jobs (id),
    carrier          text NOT NULL REFERENCES parcelbay.carriers (code),
    carrier_label_id text NOT NULL,
    amount_cents     integer NOT NULL CHECK (amount_cents > 0),
    charged_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT label_charges_carrier_label_unique UNIQUE (carrier, carrier_label_id)
);
CREATE INDEX label_charges_shipment_idx ON parcelbay.label_charges (shipment_id);

-- Label refunds (voids). The refund worker submits 'pending' rows to the
-- carrier in batches, stores the carrier's reference and sets 'submitted';
-- the carrier's refund.approved / refund.rejected webhook resolves them.
-- Carriers key refunds per label, so a second refund for the same label gets
-- the same carrier_refund_ref back -- and refunds_carrier_ref_unique rejects it.
CREATE TABLE parcelbay.refunds (
    id                 text PRIMARY KEY
                       DEFAULT ('rfd_' || substr(md5(random()::text || clock_timestamp()::text), 1, 12)),
    shipment_id        text NOT NULL REFERENCES parcelbay.shipments (id),
    label_charge_id    bigint NOT NULL REFERENCES parcelbay.label_charges (id),
    carrier            text NOT NULL REFERENCES parcelbay.carriers (code),
    amount_cents       integer NOT NULL CHECK (amount_cents > 0),
    reason             text NOT NULL
                       CHECK (reason IN ('merchant_cancelled', 'duplicate_label',
                                         'unused_label', 'carrier_error')),
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'submitted', 'approved', 'rejected',
                                         'cancelled', 'failed')),
    idempotency_key    text,
    carrier_refund_ref text,
    attempts           integer NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    last_error         text,
    requested_at       timestamptz NOT NULL DEFAULT now(),
    submitted_at       timestamptz,
    resolved_at        timestamptz,
    CONSTRAINT refunds_carrier_ref_unique UNIQUE (carrier, carrier_refund_ref),
    CONSTRAINT refunds_idempotency_key_unique UNIQUE (idempotency_key)
);
CREATE INDEX refunds_label_charge_idx ON parcelbay.refunds (label_charge_id);
CREATE INDEX refunds_open_idx ON parcelbay.refunds (requested_at)
    WHERE status IN ('pending', 'submitted');

-- Inbox of carrier webhooks (tracking updates, refund decisions). The
-- consumer processes 'received' rows whose available_at has passed; after
-- repeated failures it sets 'dead' and writes a webhook_dead_letters row.
CREATE TABLE parcelbay.carrier_webhooks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    carrier         text NOT NULL REFERENCES parcelbay.carriers (code),
    event_id        text NOT NULL,
    event_type      text NOT NULL,   -- tracking.updated, refund.approved, refund.rejected
    tracking_number text,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'received'
                    CHECK (status IN ('received', 'processed', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    available_at    timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz,
    CONSTRAINT carrier_webhooks_event_unique UNIQUE (carrier, event_id)
);
CREATE INDEX carrier_webhooks_pending_idx ON parcelbay.carrier_webhooks (available_at)
    WHERE status = 'received';
CREATE INDEX carrier_webhooks_tracking_idx ON parcelbay.carrier_webhooks (tracking_number);

CREATE TABLE parcelbay.webhook_dead_letters (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id  bigint NOT NULL REFERENCES parcelbay.carrier_webhooks (id),
    carrier     text NOT NULL REFERENCES parcelbay.carriers (code),
    reason      text NOT NULL
                CHECK (reason IN ('unknown_tracking_number', 'invalid_signature',
                                  'malformed_payload')),
    detail      text,
    dead_at     timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz,
    replayed_by text
);
CREATE INDEX webhook_dead_letters_open_idx ON parcelbay.webhook_dead_letters (carrier, reason)
    WHERE replayed_at IS NULL;

-- Every worker process upserts its row every 15 seconds.
CREATE TABLE parcelbay.worker_heartbeats (
    worker_id    text PRIMARY KEY,   -- the pod name
    role         text NOT NULL CHECK (role IN ('label', 'webhook', 'refund')),
    version      text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

-- One row per worker role. A worker counts as live when it has sent a
-- heartbeat in the last 5 minutes. Stuck work: a label job claimed more than
-- 15 minutes ago, a webhook due for more than 15 minutes, a refund still
-- pending 15 minutes after it was requested (they normally reach the carrier
-- within two).
--   status: offline  -- no live worker of that role
--           degraded -- live workers, but stuck work
--           online   -- otherwise
CREATE VIEW parcelbay.v_worker_health AS
WITH roles (role) AS (
    VALUES ('label'), ('webhook'), ('refund')
),
hb AS (
    SELECT role,
           count(*) FILTER (WHERE last_seen_at > now() - interval '5 minutes') AS live_workers,
           max(last_seen_at) AS last_heartbeat_at
    FROM parcelbay.worker_heartbeats
    GROUP BY role
),
work AS (
    SELECT 'label' AS role,
           count(*) FILTER (WHERE status = 'queued') AS queued,
           count(*) FILTER (WHERE status = 'running'
                              AND locked_at < now() - interval '15 minutes') AS stuck,
           count(*) FILTER (WHERE status = 'failed'
                              AND updated_at > now() - interval '24 hours') AS failed_24h,
           min(created_at) FILTER (WHERE status = 'queued') AS oldest_queued_at
    FROM parcelbay.label_jobs
    UNION ALL
    SELECT 'webhook',
           count(*) FILTER (WHERE w.status = 'received'),
           count(*) FILTER (WHERE w.status = 'received'
                              AND w.available_at < now() - interval '15 minutes'),
           (SELECT count(*) FROM parcelbay.webhook_dead_letters d
             WHERE d.replayed_at IS NULL AND d.dead_at > now() - interval '24 hours'),
           min(w.received_at) FILTER (WHERE w.status = 'received')
    FROM parcelbay.carrier_webhooks w
    UNION ALL
    SELECT 'refund',
           count(*) FILTER (WHERE status = 'pending'),
           count(*) FILTER (WHERE status = 'pending'
                              AND requested_at < now() - interval '15 minutes'),
           count(*) FILTER (WHERE status = 'failed'
                              AND requested_at > now() - interval '24 hours'),
           min(requested_at) FILTER (WHERE status = 'pending')
    FROM parcelbay.refunds
)
SELECT r.role,
       coalesce(hb.live_workers, 0) AS live_workers,
       hb.last_heartbeat_at,
       coalesce(work.queued, 0) AS queued,
       coalesce(work.stuck, 0) AS stuck,
       coalesce(work.failed_24h, 0) AS failed_24h,
       work.oldest_queued_at,
       CASE
           WHEN coalesce(hb.live_workers, 0) = 0 THEN 'offline'
           WHEN coalesce(work.stuck, 0) > 0 THEN 'degraded'
           ELSE 'online'
       END AS status
FROM roles r
LEFT JOIN hb USING (role)
LEFT JOIN work USING (role);

-- Finance reconciliation: charges for labels a shipment does not use (the
-- worker bought a second label on retry) that have no live refund yet.
CREATE VIEW parcelbay.v_unrefunded_extra_labels AS
SELECT lc.id AS label_charge_id, lc.shipment_id, s.merchant_id, lc.carrier,
       s.carrier_label_id AS label_in_use, lc.carrier_label_id AS extra_label,
       lc.amount_cents, lc.charged_at
FROM parcelbay.label_charges lc
JOIN parcelbay.shipments s ON s.id = lc.shipment_id
WHERE lc.carrier_label_id IS DISTINCT FROM s.carrier_label_id
  AND NOT EXISTS (SELECT 1 FROM parcelbay.refunds r
                  WHERE r.label_charge_id = lc.id AND r.status <> 'cancelled');
