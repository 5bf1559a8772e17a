-- Lab schema for seed 003 (a job-queue service with workers on a hosted
-- platform, Supabase-style migrations). Pre-incident state: every fault the
-- runbook's SQL diagnoses is present as data. Timestamps are relative to
-- now() at load time, so load the lab right before using it.
--
-- Faults:
--   Worker Death     jobs 'processing' with locked_at 20-40 min old (stuck),
--                    one locked 1 min ago (a live worker's: must stay);
--                    the enforcement worker's heartbeat is 12 min old.
--   Migration Block  migration 20251226000000 recorded though it only partly
--                    applied, and the view it created (ops.v_live_feed_events).
--   Simplicity down  pending 'ingest' jobs (to pause, then resume), next to
--                    pending jobs of other types that must not be touched.

CREATE SCHEMA ops;
CREATE SCHEMA supabase_migrations;

-- ---------------------------------------------------------------- job queue

CREATE TYPE ops.job_type_enum AS ENUM (
    'ingest', 'enforcement', 'enrichment', 'notify'
);

CREATE TYPE ops.job_status_enum AS ENUM (
    'pending', 'processing', 'completed', 'failed', 'paused'
);

CREATE TABLE ops.job_queue (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_type    ops.job_type_enum NOT NULL,
    status      ops.job_status_enum NOT NULL DEFAULT 'pending',
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    priority    integer NOT NULL DEFAULT 0,
    locked_at   timestamptz,
    locked_by   text,
    attempts    integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 5,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_queue_locked_when_processing
        CHECK (status <> 'processing' OR locked_at IS NOT NULL)
);

CREATE INDEX job_queue_claim_idx
    ON ops.job_queue (job_type, status, priority DESC, created_at)
    WHERE status = 'pending';

CREATE TABLE ops.worker_heartbeats (
    worker_id    text PRIMARY KEY,
    worker_type  text NOT NULL CHECK (worker_type IN ('ingest', 'enforcement', 'api')),
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('starting', 'running', 'stopping', 'stopped')),
    hostname     text,
    pid          integer,
    version      text,
    started_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- One row: what /api/v1/system/status reports. A worker type is online when
-- one of its workers sent a heartbeat in the last 60 seconds.
CREATE VIEW ops.v_system_health AS
SELECT
    CASE WHEN EXISTS (SELECT 1 FROM ops.worker_heartbeats h
                      WHERE h.worker_type = 'ingest'
                        AND h.last_seen_at > now() - INTERVAL '60 seconds')
         THEN 'online' ELSE 'offline' END AS ingest_status,
    CASE WHEN EXISTS (SELECT 1 FROM ops.worker_heartbeats h
                      WHERE h.worker_type = 'enforcement'
                        AND h.last_seen_at > now() - INTERVAL '60 seconds')
         THEN 'online' ELSE 'offline' END AS enforcement_status,
    (SELECT max(last_seen_at) FROM ops.worker_heartbeats
      WHERE worker_type = 'ingest') AS ingest_last_seen_at,
    (SELECT max(last_seen_at) FROM ops.worker_heartbeats
      WHERE worker_type = 'enforcement') AS enforcement_last_seen_at,
    (SELECT count(*) FROM ops.job_queue WHERE status = 'pending') AS pending_jobs,
    (SELECT count(*) FROM ops.job_queue WHERE status = 'processing') AS processing_jobs,
    (SELECT count(*) FROM ops.job_queue
      WHERE status = 'processing'
        AND locked_at < now() - INTERVAL '5 minutes') AS stuck_jobs,
    (SELECT count(*) FROM ops.job_queue
      WHERE status = 'failed'
        AND updated_at > now() - INTERVAL '24 hours') AS failed_jobs_24h,
    now() AS checked_at;

-- ---------------------------------------------------------------- migrations

-- Supabase's own table, with the status column this team's tooling adds.
CREATE TABLE supabase_migrations.schema_migrations (
    version     text PRIMARY KEY,
    statements  text[],
    name        text,
    created_by  text,
    statements_applied_successfully boolean NOT NULL DEFAULT true
);

-- The repo's migration versions are UTC timestamps (YYYYMMDDHHMMSS).
CREATE VIEW public.v_migration_status AS
SELECT version,
       name,
       to_timestamp(left(version, 14), 'YYYYMMDDHH24MISS') AS executed_at,
       statements_applied_successfully AS applied_ok,
       coalesce(cardinality(statements), 0) AS statement_count
FROM supabase_migrations.schema_migrations;

-- ---------------------------------------------------------------- data

INSERT INTO supabase_migrations.schema_migrations
    (version, name, statements, created_by, statements_applied_successfully)
VALUES
    ('20251201090000', 'job_queue', ARRAY['CREATE TABLE ops.job_queue (...)'], 'ci', true),
    ('20251205120000', 'worker_heartbeats', ARRAY['CREATE TABLE ops.worker_heartbeats (...)'], 'ci', true),
    ('20251210083000', 'system_health_view', ARRAY['CREATE VIEW ops.v_system_health AS ...'], 'ci', true),
    ('20251218150000', 'job_queue_paused_status', ARRAY['ALTER TYPE ops.job_status_enum ADD VALUE ''paused'''], 'ci', true),
    -- Fault (Migration Block): the crashed deploy's migration, half applied.
    ('20251226000000', 'live_feed_events',
     ARRAY['CREATE VIEW ops.v_live_feed_events AS ...',
           'CREATE TABLE public.live_feed_cursor (...)'],
     'ci', false);

-- What that migration's first statement left behind.
CREATE VIEW ops.v_live_feed_events AS
SELECT id, job_type, status, updated_at AS event_at
FROM ops.job_queue
ORDER BY updated_at DESC;

INSERT INTO ops.worker_heartbeats
    (worker_id, worker_type, status, hostname, pid, version, started_at, last_seen_at)
VALUES
    ('ingest-worker-7c9f', 'ingest', 'running', 'ingest-worker-7c9f', 7,
     '2025.12.17', now() - INTERVAL '3 hours', now() - INTERVAL '20 seconds'),
    -- Fault (Worker Death): the enforcement worker was OOM-killed 12 min ago.
    ('enforcement-worker-41d2', 'enforcement', 'running', 'enforcement-worker-41d2', 7,
     '2025.12.17', now() - INTERVAL '5 hours', now() - INTERVAL '12 minutes'),
    ('dragonfly-api-1', 'api', 'running', 'dragonfly-api-1', 1,
     '2025.12.17', now() - INTERVAL '1 day', now() - INTERVAL '10 seconds');

INSERT INTO ops.job_queue
    (id, job_type, status, payload, locked_at, locked_by, attempts, last_error,
     created_at, updated_at)
VALUES
    -- Fault (Worker Death): locked by the dead worker, > 5 minutes ago.
    ('30000000-0000-4000-8000-000000000001', 'enforcement', 'processing',
     '{"case_id": "DF-2025-00412", "action": "levy_notice"}',
     now() - INTERVAL '40 minutes', 'enforcement-worker-41d2', 1, NULL,
     now() - INTERVAL '45 minutes', now() - INTERVAL '40 minutes'),
    ('30000000-0000-4000-8000-000000000002', 'enforcement', 'processing',
     '{"case_id": "DF-2025-00419", "action": "bank_search"}',
     now() - INTERVAL '20 minutes', 'enforcement-worker-41d2', 2, 'timeout contacting bank API',
     now() - INTERVAL '50 minutes', now() - INTERVAL '20 minutes'),
    -- Not a fault: locked 1 minute ago by a live worker. Must stay 'processing'.
    ('30000000-0000-4000-8000-000000000003', 'ingest', 'processing',
     '{"source": "simplicity", "batch": "2025-12-17-a"}',
     now() - INTERVAL '1 minute', 'ingest-worker-7c9f', 1, NULL,
     now() - INTERVAL '2 minutes', now() - INTERVAL '1 minute'),
    -- Fault (Simplicity down): pending ingest jobs hammering the broken API.
    ('30000000-0000-4000-8000-000000000011', 'ingest', 'pending',
     '{"source": "simplicity", "batch": "2025-12-17-b"}', NULL, NULL, 3,
     'Simplicity API returned 500: Internal Server Error',
     now() - INTERVAL '30 minutes', now() - INTERVAL '2 minutes'),
    ('30000000-0000-4000-8000-000000000012', 'ingest', 'pending',
     '{"source": "simplicity", "batch": "2025-12-17-c"}', NULL, NULL, 2,
     'HTTPSConnectionPool: Max retries exceeded',
     now() - INTERVAL '25 minutes', now() - INTERVAL '3 minutes'),
    ('30000000-0000-4000-8000-000000000013', 'ingest', 'pending',
     '{"source": "csv_upload", "file": "portfolio_dec.csv"}', NULL, NULL, 0, NULL,
     now() - INTERVAL '10 minutes', now() - INTERVAL '10 minutes'),
    -- Not a fault: other job types, pending; pausing ingest must not touch them.
    ('30000000-0000-4000-8000-000000000021', 'enforcement', 'pending',
     '{"case_id": "DF-2025-00430", "action": "levy_notice"}', NULL, NULL, 0, NULL,
     now() - INTERVAL '15 minutes', now() - INTERVAL '15 minutes'),
    ('30000000-0000-4000-8000-000000000022', 'enrichment', 'pending',
     '{"case_id": "DF-2025-00431", "provider": "skiptrace"}', NULL, NULL, 0, NULL,
     now() - INTERVAL '12 minutes', now() - INTERVAL '12 minutes'),
    -- History: done and failed jobs.
    ('30000000-0000-4000-8000-000000000031', 'ingest', 'completed',
     '{"source": "simplicity", "batch": "2025-12-16-a"}', NULL, NULL, 1, NULL,
     now() - INTERVAL '1 day', now() - INTERVAL '23 hours'),
    ('30000000-0000-4000-8000-000000000032', 'notify', 'failed',
     '{"channel": "email", "template": "payment_received"}', NULL, NULL, 5,
     'SMTP 550: mailbox unavailable',
     now() - INTERVAL '6 hours', now() - INTERVAL '5 hours'),
    ('30000000-0000-4000-8000-000000000033', 'enforcement', 'failed',
     '{"case_id": "DF-2025-00377", "action": "levy_notice"}', NULL, NULL, 5,
     'court portal rejected filing',
     now() - INTERVAL '3 days', now() - INTERVAL '3 days');
