-- Lab schema for seed 004 (an inventory intake app on Supabase that syncs
-- items to Shopify). Pre-incident state: every fault the runbook's SQL
-- diagnoses is present as data. Timestamps are relative to now() at load.
--
-- Known values (pass as --param):
--   lot-id         a0000000-0000-4000-8000-000000000001  (an 'active' lot, stuck)
--   queue-item-id  c0000000-0000-4000-8000-000000000003  (a failed sync item)
--   user-email     new.staff@example.com                 (a user with no role)
--
-- Faults:
--   Circuit breaker       'Circuit breaker is open' errors in system_logs.
--   Sync queue stuck      failed items with retry_count >= max_retries, one
--                         failed item still under its limit, queued items
--                         older than 10 minutes, one fresh queued item.
--   Batch processing      the 'active' lot above, its items, an error log
--                         whose context names the lot.
--   Failed Shopify sync   the failed queue items, joined to intake_items.
--   Authentication        new.staff@example.com: in auth.users, no role, no
--                         store assignment.
--   Performance/archive   system_logs older than 90 days, a lot completed
--                         more than 6 months ago.

CREATE SCHEMA auth;

-- ---------------------------------------------------------------- auth

-- The columns of Supabase's auth.users that matter here; confirmed_at is
-- generated from the two confirmation times, as in Supabase.
CREATE TABLE auth.users (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    instance_id         uuid,
    aud                 varchar(255) DEFAULT 'authenticated',
    role                varchar(255) DEFAULT 'authenticated',
    email               varchar(255),
    encrypted_password  varchar(255),
    email_confirmed_at  timestamptz,
    phone               text UNIQUE,
    phone_confirmed_at  timestamptz,
    confirmed_at        timestamptz
        GENERATED ALWAYS AS (LEAST(email_confirmed_at, phone_confirmed_at)) STORED,
    last_sign_in_at     timestamptz,
    raw_app_meta_data   jsonb,
    raw_user_meta_data  jsonb,
    banned_until        timestamptz,
    created_at          timestamptz DEFAULT now(),
    updated_at          timestamptz DEFAULT now(),
    deleted_at          timestamptz
);

CREATE UNIQUE INDEX users_email_partial_key ON auth.users (email) WHERE email IS NOT NULL;

CREATE TYPE public.app_role AS ENUM ('admin', 'staff');

CREATE TABLE public.user_roles (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    role       public.app_role NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_roles_user_id_role_key UNIQUE (user_id, role)
);

CREATE TABLE public.user_shopify_assignments (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id              uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    store_key            text NOT NULL,
    shopify_location_gid text,
    region_id            text,
    is_default           boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- intake

CREATE TABLE public.intake_lots (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    lot_number     text NOT NULL UNIQUE,
    lot_type       text NOT NULL DEFAULT 'mixed',
    status         text NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'completed', 'archived', 'deleted')),
    store_key      text,
    total_items    integer NOT NULL DEFAULT 0,
    total_value    numeric(12, 2) NOT NULL DEFAULT 0,
    notes          text,
    created_by     uuid REFERENCES auth.users (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,
    deleted_at     timestamptz,
    deleted_reason text
);

CREATE TABLE public.intake_items (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    lot_id                uuid REFERENCES public.intake_lots (id),
    sku                   text,
    quantity              integer NOT NULL DEFAULT 1 CHECK (quantity >= 0),
    brand_title           text,
    subject               text,
    category              text,
    grade                 text,
    price                 numeric(10, 2),
    cost                  numeric(10, 2),
    store_key             text,
    shopify_product_id    text,
    shopify_variant_id    text,
    removed_from_batch_at timestamptz,
    created_by            uuid REFERENCES auth.users (id),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    deleted_at            timestamptz,
    deleted_reason        text
);

CREATE TABLE public.shopify_sync_queue (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    inventory_item_id uuid NOT NULL REFERENCES public.intake_items (id) ON DELETE CASCADE,
    action            text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    status            text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
    retry_count       integer NOT NULL DEFAULT 0,
    max_retries       integer NOT NULL DEFAULT 3,
    last_error        text,
    shopify_response  jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    completed_at      timestamptz,
    retry_after       timestamptz
);

CREATE INDEX shopify_sync_queue_status_created_idx
    ON public.shopify_sync_queue (status, created_at);

CREATE TABLE public.system_logs (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    level      text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    message    text NOT NULL,
    context    jsonb,
    source     text,
    user_id    uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX system_logs_created_at_idx ON public.system_logs (created_at DESC);

-- ---------------------------------------------------------------- admin functions

-- Removes every queue item in one status; returns how many went.
CREATE FUNCTION public.admin_clear_shopify_sync_queue(p_status text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
DECLARE
    v_deleted integer;
BEGIN
    IF p_status NOT IN ('queued', 'failed', 'completed') THEN
        RAISE EXCEPTION 'admin_clear_shopify_sync_queue: cannot clear status %', p_status
            USING ERRCODE = '22023';
    END IF;
    DELETE FROM shopify_sync_queue WHERE status = p_status;
    GET DIAGNOSTICS v_deleted = ROW_COUNT;
    INSERT INTO system_logs (level, message, context, source)
    VALUES ('info', 'Shopify sync queue cleared',
            jsonb_build_object('status', p_status, 'deleted', v_deleted), 'admin');
    RETURN v_deleted;
END;
$$;

-- Soft delete: marks the lot and its items deleted, keeps the rows.
CREATE FUNCTION public.admin_delete_batch(p_lot_id uuid, p_reason text)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
DECLARE
    v_items integer;
BEGIN
    UPDATE intake_lots
       SET status = 'deleted', deleted_at = now(), deleted_reason = p_reason,
           updated_at = now()
     WHERE id = p_lot_id AND deleted_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'admin_delete_batch: no live lot %', p_lot_id
            USING ERRCODE = 'P0002';
    END IF;
    UPDATE intake_items
       SET deleted_at = now(), deleted_reason = p_reason, updated_at = now()
     WHERE lot_id = p_lot_id AND deleted_at IS NULL;
    GET DIAGNOSTICS v_items = ROW_COUNT;
    INSERT INTO system_logs (level, message, context, source)
    VALUES ('info', 'Batch deleted',
            jsonb_build_object('lot_id', p_lot_id, 'reason', p_reason, 'items', v_items),
            'admin');
    RETURN jsonb_build_object('lot_id', p_lot_id, 'items_deleted', v_items);
END;
$$;

-- ---------------------------------------------------------------- data

INSERT INTO auth.users (id, email, email_confirmed_at, last_sign_in_at, raw_app_meta_data,
                        created_at)
VALUES
    ('d0000000-0000-4000-8000-000000000001', 'owner@example.com',
     now() - INTERVAL '200 days', now() - INTERVAL '2 hours',
     '{"provider": "email"}', now() - INTERVAL '200 days'),
    ('d0000000-0000-4000-8000-000000000002', 'counter.staff@example.com',
     now() - INTERVAL '90 days', now() - INTERVAL '1 day',
     '{"provider": "email"}', now() - INTERVAL '90 days'),
    -- Fault (Authentication): signed up and confirmed, never given a role.
    ('d0000000-0000-4000-8000-000000000003', 'new.staff@example.com',
     now() - INTERVAL '2 days', now() - INTERVAL '10 minutes',
     '{"provider": "email"}', now() - INTERVAL '2 days');

INSERT INTO public.user_roles (user_id, role) VALUES
    ('d0000000-0000-4000-8000-000000000001', 'admin'),
    ('d0000000-0000-4000-8000-000000000002', 'staff');

INSERT INTO public.user_shopify_assignments
    (user_id, store_key, shopify_location_gid, region_id, is_default)
VALUES
    ('d0000000-0000-4000-8000-000000000002', 'hawaii', 'gid://shopify/Location/67325100',
     'hawaii', true);

INSERT INTO public.intake_lots
    (id, lot_number, status, store_key, total_items, total_value, created_by,
     created_at, completed_at)
VALUES
    -- Fault (Batch Processing): stuck 'active' since yesterday.
    ('a0000000-0000-4000-8000-000000000001', 'LOT-000412', 'active', 'hawaii', 3, 845.00,
     'd0000000-0000-4000-8000-000000000002', now() - INTERVAL '1 day', NULL),
    ('a0000000-0000-4000-8000-000000000002', 'LOT-000413', 'active', 'hawaii', 1, 60.00,
     'd0000000-0000-4000-8000-000000000002', now() - INTERVAL '20 minutes', NULL),
    ('a0000000-0000-4000-8000-000000000003', 'LOT-000398', 'completed', 'hawaii', 2, 120.00,
     'd0000000-0000-4000-8000-000000000002', now() - INTERVAL '3 days',
     now() - INTERVAL '3 days'),
    -- Old enough to be archived (Performance, option C).
    ('a0000000-0000-4000-8000-000000000004', 'LOT-000101', 'completed', 'hawaii', 1, 40.00,
     'd0000000-0000-4000-8000-000000000001', now() - INTERVAL '8 months',
     now() - INTERVAL '8 months');

INSERT INTO public.intake_items
    (id, lot_id, sku, quantity, brand_title, subject, category, grade, price, cost,
     store_key, created_by, created_at, removed_from_batch_at)
VALUES
    ('b0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
     'PSA-81234567', 1, 'Pokemon Base Set', 'Charizard Holo #4', 'tcg', 'PSA 8', 650.00,
     420.00, 'hawaii', 'd0000000-0000-4000-8000-000000000002', now() - INTERVAL '23 hours', NULL),
    ('b0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001',
     'PSA-81234568', 1, 'Pokemon Jungle', 'Pikachu #60', 'tcg', 'PSA 10', 150.00, 90.00,
     'hawaii', 'd0000000-0000-4000-8000-000000000002', now() - INTERVAL '23 hours', NULL),
    ('b0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000001',
     'RAW-NM-55102', 3, 'Pokemon Scarlet & Violet', 'Booster Pack', 'sealed', NULL, 15.00,
     9.00, 'hawaii', 'd0000000-0000-4000-8000-000000000002', now() - INTERVAL '22 hours',
     now() - INTERVAL '21 hours'),
    ('b0000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000002',
     'RAW-NM-55133', 2, 'Magic: The Gathering', 'Sol Ring', 'tcg', NULL, 30.00, 12.00,
     'hawaii', 'd0000000-0000-4000-8000-000000000002', now() - INTERVAL '19 minutes', NULL),
    ('b0000000-0000-4000-8000-000000000005', 'a0000000-0000-4000-8000-000000000003',
     'PSA-70011223', 1, 'Topps Chrome', 'Shohei Ohtani RC', 'sports', 'PSA 9', 120.00, 80.00,
     'hawaii', 'd0000000-0000-4000-8000-000000000002', now() - INTERVAL '3 days', NULL),
    ('b0000000-0000-4000-8000-000000000006', 'a0000000-0000-4000-8000-000000000004',
     'RAW-LP-10001', 1, 'Pokemon Fossil', 'Gengar Holo', 'tcg', NULL, 40.00, 25.00,
     'hawaii', 'd0000000-0000-4000-8000-000000000001', now() - INTERVAL '8 months', NULL);

INSERT INTO public.shopify_sync_queue
    (id, inventory_item_id, action, status, retry_count, max_retries, last_error,
     created_at, started_at, completed_at)
VALUES
    -- Fault: failed, retries exhausted (retry_count >= max_retries).
    ('c0000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-000000000005',
     'create', 'failed', 3, 3, 'Shopify 429: Exceeded 2 calls per second for api client',
     now() - INTERVAL '2 days', now() - INTERVAL '2 days', NULL),
    ('c0000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-000000000006',
     'update', 'failed', 5, 3, 'Shopify 502: Bad Gateway',
     now() - INTERVAL '6 hours', now() - INTERVAL '6 hours', NULL),
    -- Fault: failed, still under its limit (Option C leaves it; Option A clears it).
    ('c0000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-000000000001',
     'create', 'failed', 1, 3, 'Circuit breaker is open',
     now() - INTERVAL '40 minutes', now() - INTERVAL '39 minutes', NULL),
    -- Fault: queued for more than 10 minutes, nothing picking them up.
    ('c0000000-0000-4000-8000-000000000004', 'b0000000-0000-4000-8000-000000000002',
     'create', 'queued', 0, 3, NULL, now() - INTERVAL '35 minutes', NULL, NULL),
    ('c0000000-0000-4000-8000-000000000005', 'b0000000-0000-4000-8000-000000000003',
     'create', 'queued', 0, 3, NULL, now() - INTERVAL '30 minutes', NULL, NULL),
    -- Not a fault: just queued.
    ('c0000000-0000-4000-8000-000000000006', 'b0000000-0000-4000-8000-000000000004',
     'create', 'queued', 0, 3, NULL, now() - INTERVAL '1 minute', NULL, NULL),
    ('c0000000-0000-4000-8000-000000000007', 'b0000000-0000-4000-8000-000000000005',
     'update', 'completed', 0, 3, NULL, now() - INTERVAL '3 days',
     now() - INTERVAL '3 days', now() - INTERVAL '3 days');

INSERT INTO public.system_logs (level, message, context, source, created_at)
VALUES
    ('error', 'Circuit breaker is open for justtcg (5 consecutive timeouts)',
     '{"service": "justtcg", "failures": 5}', 'catalog-sync-justtcg',
     now() - INTERVAL '12 minutes'),
    ('warn', 'JustTCG request timed out after 10000ms; circuit breaker counting failure',
     '{"service": "justtcg", "game": "pokemon"}', 'catalog-sync-justtcg',
     now() - INTERVAL '14 minutes'),
    ('error', 'Shopify sync failed: Circuit breaker is open',
     '{"queue_item_id": "c0000000-0000-4000-8000-000000000003"}', 'shopify-sync-processor',
     now() - INTERVAL '39 minutes'),
    ('error', 'Batch send to inventory failed: Shopify location not set for store hawaii',
     '{"lot_id": "a0000000-0000-4000-8000-000000000001", "step": "send_to_inventory"}',
     'send-intake-batch', now() - INTERVAL '21 hours'),
    ('warn', 'auth: invalid authentication token (JWT expired)',
     '{"user_id": "d0000000-0000-4000-8000-000000000003"}', 'edge-auth',
     now() - INTERVAL '8 minutes'),
    ('error', 'auth: user has no role; access denied',
     '{"user_id": "d0000000-0000-4000-8000-000000000003"}', 'edge-auth',
     now() - INTERVAL '9 minutes'),
    ('info', 'Catalog sync finished', '{"game": "pokemon", "cards": 18000}',
     'catalog-sync-justtcg', now() - INTERVAL '2 days'),
    -- Older than 90 days (Performance, option C archives them).
    ('info', 'Catalog sync finished', '{"game": "mtg", "cards": 92000}',
     'catalog-sync-justtcg', now() - INTERVAL '120 days'),
    ('error', 'Shopify sync failed: 401 Unauthorized', '{}', 'shopify-sync-processor',
     now() - INTERVAL '100 days');

-- Planner statistics, so pg_stats (the "missing indexes" query) has rows.
ANALYZE;
