-- Lab schema for seed 002 (an app whose migrations run as a dedicated role).
-- The runbook's SQL is `\du` and one information_schema query about the
-- grants on a table named migrations.
--
-- Fault (Database migrations / permission denied): the migration role
-- author_migrator can read the migrations table but not write it, so a
-- migration run fails with SQLSTATE 42501.
--
-- Roles are cluster-wide: they are created only when missing, so loading
-- this file into a second database of the same cluster works.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'author_migrator') THEN
        CREATE ROLE author_migrator LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'author_app') THEN
        CREATE ROLE author_app LOGIN;
    END IF;
END
$$;

-- The migration tool's bookkeeping table.
CREATE TABLE public.migrations (
    id                  varchar(36) PRIMARY KEY,
    checksum            varchar(64) NOT NULL,
    migration_name      varchar(255) NOT NULL,
    logs                text,
    rolled_back_at      timestamptz,
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    applied_steps_count integer NOT NULL DEFAULT 0
);

INSERT INTO public.migrations (id, checksum, migration_name, started_at, finished_at,
                               applied_steps_count)
VALUES
    ('6f1d0c1e-6a1b-4c1e-9a52-3f0b2a7d9e01', repeat('a', 64), '20250101000000_init',
     now() - INTERVAL '30 days', now() - INTERVAL '30 days', 1),
    ('6f1d0c1e-6a1b-4c1e-9a52-3f0b2a7d9e02', repeat('b', 64), '20250301000000_recordings',
     now() - INTERVAL '10 days', now() - INTERVAL '10 days', 1);

-- Fault: only SELECT for the migration role (grants.sql would give it all).
GRANT SELECT ON public.migrations TO author_migrator;
GRANT SELECT ON public.migrations TO author_app;
