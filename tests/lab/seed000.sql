-- Lab schema for seed 000 (user stories of strategic directives, verified
-- by CI through a webhook; a release gate per directive). Pre-incident
-- state: every fault the runbook's SQL diagnoses is present as data.
--
-- Faults:
--   Duplicate story constraint  duplicate (sd_id, backlog_id) rows in
--                               sd_backlog_map: two pairs twice, one pair
--                               three times. The unique constraint
--                               sd_backlog_map_unique_sd_backlog cannot exist
--                               while they do, so it is absent here; the lab
--                               check adds it after the runbook's DELETE.
--   Release gate at 0%          v_sd_release_gate is a materialized view
--                               last refreshed before CI marked stories
--                               passing: it shows 0% until refreshed.
--   Story keys not matching     most stories of SD-2025-PILOT-001 not_run.
--   DLQ filling up              failed webhook deliveries in
--                               story_webhook_dlq: three with retry_count < 3
--                               (the fix re-queues them), two with >= 3.

CREATE TABLE public.strategic_directives (
    id         text PRIMARY KEY,
    sd_key     text NOT NULL UNIQUE,
    title      text NOT NULL,
    status     text NOT NULL DEFAULT 'active'
               CHECK (status IN ('draft', 'active', 'completed', 'archived')),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per backlog item of a directive, with the user story generated
-- from it. Its intended key is (sd_id, backlog_id); see the header.
CREATE TABLE public.sd_backlog_map (
    sd_id               text NOT NULL REFERENCES public.strategic_directives (id),
    backlog_id          text NOT NULL,
    backlog_title       text,
    item_description    text,
    priority            text CHECK (priority IN ('High', 'Medium', 'Low')),
    stage_number        integer,
    story_key           text,
    story_title         text,
    acceptance_criteria jsonb NOT NULL DEFAULT '[]'::jsonb,
    verification_status text NOT NULL DEFAULT 'not_run'
                        CHECK (verification_status IN ('not_run', 'passing', 'failing')),
    verification_source jsonb,
    last_verified_at    timestamptz,
    import_run_id       uuid,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sd_backlog_map_story_key_idx ON public.sd_backlog_map (story_key);

CREATE VIEW public.v_story_verification_status AS
SELECT sd.sd_key,
       m.sd_id,
       m.backlog_id,
       m.story_key,
       m.story_title,
       m.verification_status AS status,
       m.last_verified_at,
       m.verification_source ->> 'ci_run_url' AS ci_run_url
FROM public.sd_backlog_map m
JOIN public.strategic_directives sd ON sd.id = m.sd_id
WHERE m.story_key IS NOT NULL;

-- Materialized for the dashboard; the unique index is what REFRESH ...
-- CONCURRENTLY needs.
CREATE MATERIALIZED VIEW public.v_sd_release_gate AS
SELECT s.sd_key,
       count(*) AS total_stories,
       count(*) FILTER (WHERE s.status = 'passing') AS passing_count,
       count(*) FILTER (WHERE s.status = 'failing') AS failing_count,
       count(*) FILTER (WHERE s.status = 'not_run') AS not_run_count,
       round(100.0 * count(*) FILTER (WHERE s.status = 'passing') / count(*), 1)
           AS passing_pct,
       (count(*) FILTER (WHERE s.status = 'passing') = count(*)) AS gate_ready,
       now() AS computed_at
FROM public.v_story_verification_status s
GROUP BY s.sd_key
WITH NO DATA;

CREATE UNIQUE INDEX v_sd_release_gate_sd_key_idx ON public.v_sd_release_gate (sd_key);

CREATE TABLE public.story_webhook_dlq (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload       jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'processing', 'failed', 'processed')),
    retry_count   integer NOT NULL DEFAULT 0,
    last_error    text,
    http_status   integer,
    next_retry_at timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- data

INSERT INTO public.strategic_directives (id, sd_key, title, created_at) VALUES
    ('SD-2025-PILOT-001', 'SD-2025-PILOT-001', 'Story verification pilot',
     now() - INTERVAL '10 days'),
    ('SD-2025-002', 'SD-2025-002', 'Release gates for stories', now() - INTERVAL '5 days');

INSERT INTO public.sd_backlog_map
    (sd_id, backlog_id, backlog_title, priority, stage_number, story_key, story_title,
     import_run_id, created_at)
VALUES
    ('SD-2025-PILOT-001', 'BL-101', 'Generate stories from backlog', 'High', 1,
     'SD-2025-PILOT-001:US-c7eba47b', 'Story generation', 'e0000000-0000-4000-8000-000000000001',
     now() - INTERVAL '10 days'),
    ('SD-2025-PILOT-001', 'BL-102', 'Unique story keys', 'High', 1,
     'SD-2025-PILOT-001:US-1f2e3d4c', 'Story keys are unique', 'e0000000-0000-4000-8000-000000000001',
     now() - INTERVAL '10 days'),
    ('SD-2025-PILOT-001', 'BL-103', 'Verification webhook', 'Medium', 2,
     'SD-2025-PILOT-001:US-5a6b7c8d', 'CI posts results', 'e0000000-0000-4000-8000-000000000001',
     now() - INTERVAL '10 days'),
    ('SD-2025-PILOT-001', 'BL-104', 'Release gate', 'Medium', 3,
     'SD-2025-PILOT-001:US-9e8d7c6b', 'Gate blocks release', 'e0000000-0000-4000-8000-000000000001',
     now() - INTERVAL '10 days'),
    ('SD-2025-002', 'BL-201', 'Gate dashboard', 'Low', 1,
     'SD-2025-002:US-0a1b2c3d', 'Dashboard shows gates', 'e0000000-0000-4000-8000-000000000002',
     now() - INTERVAL '5 days'),
    ('SD-2025-002', 'BL-202', 'Backlog notes', 'Low', 1,
     NULL, NULL, 'e0000000-0000-4000-8000-000000000002', now() - INTERVAL '5 days'),
    -- Fault (duplicates): the backlog import ran again without the
    -- constraint; BL-101 and BL-201 twice more, BL-102 once more.
    ('SD-2025-PILOT-001', 'BL-101', 'Generate stories from backlog', 'High', 1,
     'SD-2025-PILOT-001:US-c7eba47b', 'Story generation', 'e0000000-0000-4000-8000-000000000003',
     now() - INTERVAL '2 days'),
    ('SD-2025-PILOT-001', 'BL-102', 'Unique story keys', 'High', 1,
     'SD-2025-PILOT-001:US-1f2e3d4c', 'Story keys are unique', 'e0000000-0000-4000-8000-000000000003',
     now() - INTERVAL '2 days'),
    ('SD-2025-002', 'BL-201', 'Gate dashboard', 'Low', 1,
     'SD-2025-002:US-0a1b2c3d', 'Dashboard shows gates', 'e0000000-0000-4000-8000-000000000003',
     now() - INTERVAL '2 days'),
    ('SD-2025-PILOT-001', 'BL-101', 'Generate stories from backlog', 'High', 1,
     'SD-2025-PILOT-001:US-c7eba47b', 'Story generation', 'e0000000-0000-4000-8000-000000000004',
     now() - INTERVAL '1 day');

-- The dashboard's last refresh: before CI reported anything.
REFRESH MATERIALIZED VIEW public.v_sd_release_gate;

-- Fault (release gate): CI has since marked two stories passing.
UPDATE public.sd_backlog_map
   SET verification_status = 'passing',
       last_verified_at = now() - INTERVAL '30 minutes',
       verification_source = '{"ci_run_url": "https://ci.example.com/runs/4711"}',
       updated_at = now() - INTERVAL '30 minutes'
 WHERE story_key IN ('SD-2025-PILOT-001:US-c7eba47b', 'SD-2025-PILOT-001:US-1f2e3d4c');

INSERT INTO public.story_webhook_dlq
    (payload, status, retry_count, last_error, http_status, created_at, updated_at)
VALUES
    -- Fault (DLQ): failed, retry_count < 3: the fix re-queues these.
    ('{"stories": [{"story_key": "SD-2025-PILOT-001:US-5a6b7c8d", "status": "passing"}]}',
     'failed', 0, 'connect ETIMEDOUT', NULL, now() - INTERVAL '3 hours', now() - INTERVAL '3 hours'),
    ('{"stories": [{"story_key": "SD-2025-PILOT-001:US-9e8d7c6b", "status": "failing"}]}',
     'failed', 1, '503 Service Unavailable', 503, now() - INTERVAL '2 hours', now() - INTERVAL '1 hour'),
    ('{"stories": [{"story_key": "SD-2025-002:US-0a1b2c3d", "status": "passing"}]}',
     'failed', 2, '503 Service Unavailable', 503, now() - INTERVAL '2 hours', now() - INTERVAL '50 minutes'),
    -- Failed for good (retry_count >= 3): the fix leaves them.
    ('{"stories": [{"story_key": "SD-2025-PILOT-001:US-deadbeef", "status": "passing"}]}',
     'failed', 3, '422 Unknown story key', 422, now() - INTERVAL '1 day', now() - INTERVAL '20 hours'),
    ('{"stories": []}',
     'failed', 5, '400 Empty payload', 400, now() - INTERVAL '2 days', now() - INTERVAL '1 day'),
    ('{"stories": [{"story_key": "SD-2025-PILOT-001:US-1f2e3d4c", "status": "passing"}]}',
     'processed', 1, NULL, 200, now() - INTERVAL '40 minutes', now() - INTERVAL '30 minutes');
