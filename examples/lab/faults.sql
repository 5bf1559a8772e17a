-- Parcelbay lab data: a healthy baseline, then one section per fault.
--
-- Each section starts with a marker line `-- == baseline ==` or
-- `-- == fault: <name> ==`. The baseline must be loaded first; every fault
-- section depends only on the baseline, so a drill can load the baseline plus
-- just the fault it needs. Timestamps are relative to now(): heartbeats count
-- as live for 5 minutes, so load right before a drill (or refresh them, see
-- README.md).

-- == baseline ==

INSERT INTO parcelbay.carriers (code, name, max_concurrent_jobs) VALUES
    ('swiftpost', 'Swiftpost', 4),
    ('northline', 'Northline Parcel', 3),
    ('kestrel',   'Kestrel Express', 2);

INSERT INTO parcelbay.merchants (id, name, created_at) VALUES
    ('mer_bramble',      'Bramble & Oak Coffee',   now() - interval '400 days'),
    ('mer_tidewell',     'Tidewell Outdoor',       now() - interval '250 days'),
    ('mer_fernhill',     'Fernhill Books',         now() - interval '120 days'),
    ('mer_internal_ops', 'Parcelbay ops automation', now() - interval '500 days');

INSERT INTO parcelbay.api_keys
    (merchant_id, key_prefix, key_hash, label, created_at, last_used_at, expires_at)
VALUES
    ('mer_bramble',  'pbk_live_41d0e2', encode(sha256('lab-bramble'::bytea), 'hex'),
     'shop integration', now() - interval '60 days', now() - interval '2 minutes',
     now() + interval '305 days'),
    ('mer_tidewell', 'pbk_live_9be377', encode(sha256('lab-tidewell'::bytea), 'hex'),
     'warehouse scanner', now() - interval '30 days', now() - interval '1 hour',
     now() + interval '335 days'),
    -- the ops token: due for rotation (deploy-and-rollback.md, "Rotate the ops API token")
    ('mer_internal_ops', 'pbk_live_7f3a9c', encode(sha256('lab-ops-old'::bytea), 'hex'),
     'ops automation', now() - interval '81 days', now() - interval '30 seconds',
     now() + interval '9 days');

INSERT INTO parcelbay.worker_heartbeats (worker_id, role, version, started_at, last_seen_at) VALUES
    ('label-worker-5c7d9-mt4wn',     'label',   '2026.09.29.2', now() - interval '38 minutes', now()),
    ('webhook-consumer-84b6f-2xqpl', 'webhook', '2026.09.29.2', now() - interval '3 days',     now()),
    ('refund-worker-6d5c4-9hjrw',    'refund',  '2026.09.29.2', now() - interval '3 days',     now());

-- 30 delivered shipments, each with one finished label job, one charge and
-- its processed tracking webhook.
INSERT INTO parcelbay.shipments
    (id, merchant_id, carrier, status, tracking_number, carrier_label_id, label_cost_cents,
     created_at, updated_at)
SELECT 'shp_base' || lpad(n::text, 4, '0'),
       (ARRAY['mer_bramble', 'mer_tidewell', 'mer_fernhill'])[1 + n % 3],
       c.code,
       'delivered',
       c.prefix || lpad((700000 + n)::text, 10, '0'),
       c.prefix || 'L-' || (900000 + n),
       650 + n * 7,
       now() - (n || ' hours')::interval - interval '3 days',
       now() - (n || ' hours')::interval
FROM generate_series(1, 30) AS n
JOIN (VALUES (0, 'swiftpost', 'SP'), (1, 'northline', 'NL'), (2, 'kestrel', 'KX'))
     AS c (k, code, prefix) ON c.k = n % 3;

INSERT INTO parcelbay.label_jobs
    (shipment_id, carrier, status, attempts, created_at, updated_at, finished_at)
SELECT id, carrier, 'done', 1, created_at, created_at + interval '40 seconds',
       created_at + interval '40 seconds'
FROM parcelbay.shipments WHERE id LIKE 'shp_base%';

INSERT INTO parcelbay.label_charges
    (shipment_id, label_job_id, carrier, carrier_label_id, amount_cents, charged_at)
SELECT s.id, j.id, s.carrier, s.carrier_label_id, s.label_cost_cents, j.finished_at
FROM parcelbay.shipments s
JOIN parcelbay.label_jobs j ON j.shipment_id = s.id
WHERE s.id LIKE 'shp_base%';

INSERT INTO parcelbay.carrier_webhooks
    (carrier, event_id, event_type, tracking_number, payload, status, attempts,
     received_at, available_at, processed_at)
SELECT carrier, 'evt_base_' || id, 'tracking.updated', tracking_number,
       jsonb_build_object('tracking_number', tracking_number, 'status', 'delivered'),
       'processed', 1, updated_at, updated_at, updated_at + interval '2 seconds'
FROM parcelbay.shipments WHERE id LIKE 'shp_base%';

-- Refunds that went the normal way: one approved, one rejected.
INSERT INTO parcelbay.refunds
    (id, shipment_id, label_charge_id, carrier, amount_cents, reason, status,
     idempotency_key, carrier_refund_ref, attempts, requested_at, submitted_at, resolved_at)
SELECT 'rfd_base' || right(lc.shipment_id, 4), lc.shipment_id, lc.id, lc.carrier,
       lc.amount_cents, 'unused_label', v.status, 'idem-base-' || lc.id,
       'REF-' || lc.carrier_label_id, 1,
       lc.charged_at + interval '1 day', lc.charged_at + interval '1 day 1 minute',
       lc.charged_at + interval '2 days'
FROM parcelbay.label_charges lc
JOIN (VALUES ('shp_base0004', 'approved'), ('shp_base0008', 'rejected'))
     AS v (shipment_id, status) ON v.shipment_id = lc.shipment_id;


-- == fault: label-worker-stalled ==
-- Pod label-worker-5c7d9-q8vzt was OOM-killed 42 minutes ago while holding
-- six jobs. Its replacement (…-mt4wn) is alive, but the dead pod's 'running'
-- rows still fill Swiftpost's 4 concurrency slots, so Swiftpost's queue does
-- not move. One of the six has used all its attempts. Cleared by
-- label-worker.md "Scenario: Label worker stalled", Step 2.

INSERT INTO parcelbay.worker_heartbeats (worker_id, role, version, started_at, last_seen_at) VALUES
    ('label-worker-5c7d9-q8vzt', 'label', '2026.09.29.2',
     now() - interval '2 days', now() - interval '42 minutes');

INSERT INTO parcelbay.shipments (id, merchant_id, carrier, status, created_at, updated_at)
SELECT 'shp_stall' || lpad(n::text, 3, '0'),
       (ARRAY['mer_bramble', 'mer_tidewell', 'mer_fernhill'])[1 + n % 3],
       CASE WHEN n <= 4 OR n > 7 THEN 'swiftpost' ELSE 'northline' END,
       'label_pending',
       now() - interval '50 minutes' + (n || ' minutes')::interval,
       now() - interval '50 minutes' + (n || ' minutes')::interval
FROM generate_series(1, 19) AS n;

-- 1-6: claimed by the dead pod (4 Swiftpost, 2 Northline); job 1 is on its last attempt.
INSERT INTO parcelbay.label_jobs
    (shipment_id, carrier, status, attempts, locked_at, locked_by, last_error,
     created_at, updated_at)
SELECT s.id, s.carrier, 'running',
       CASE WHEN s.id = 'shp_stall001' THEN 5 ELSE 1 + (right(s.id, 1)::int % 2) END,
       now() - interval '41 minutes', 'label-worker-5c7d9-q8vzt',
       CASE WHEN s.id = 'shp_stall001'
            THEN 'carrier request timed out after 30s (swiftpost)' END,
       s.created_at, now() - interval '41 minutes'
FROM parcelbay.shipments s
WHERE s.id BETWEEN 'shp_stall001' AND 'shp_stall006';

-- 7: claimed a minute ago by the live pod -- healthy, must not be released.
INSERT INTO parcelbay.label_jobs
    (shipment_id, carrier, status, attempts, locked_at, locked_by, created_at, updated_at)
VALUES
    ('shp_stall007', 'northline', 'running', 1, now() - interval '1 minute',
     'label-worker-5c7d9-mt4wn', now() - interval '43 minutes', now() - interval '1 minute');

-- 8-19: Swiftpost jobs queued behind the stuck ones.
INSERT INTO parcelbay.label_jobs (shipment_id, carrier, status, created_at, updated_at, run_after)
SELECT id, carrier, 'queued', created_at, created_at, created_at
FROM parcelbay.shipments
WHERE id BETWEEN 'shp_stall008' AND 'shp_stall019';


-- == fault: webhook-dead-letters ==
-- Northline sent tracking events for eight new labels a few seconds before
-- the label purchase committed; the consumer found no shipment with that
-- tracking number, retried five times within a minute and dead-lettered
-- them. The shipments exist now, so the events are replayable. Three more
-- Northline events are for labels bought outside Parcelbay (never
-- replayable) and one Swiftpost event failed its signature check (must not
-- be replayed). Cleared by label-worker.md "Scenario: Carrier webhook
-- dead-letter backlog", Step 2.

INSERT INTO parcelbay.shipments
    (id, merchant_id, carrier, status, tracking_number, carrier_label_id, label_cost_cents,
     created_at, updated_at)
SELECT 'shp_nlrace' || n, (ARRAY['mer_bramble', 'mer_tidewell', 'mer_fernhill'])[1 + n % 3],
       'northline', 'labelled', 'NL' || (5520340 + n), 'NLL-' || (770100 + n), 815,
       now() - interval '70 minutes', now() - interval '55 minutes'
FROM generate_series(1, 8) AS n;

INSERT INTO parcelbay.label_jobs
    (shipment_id, carrier, status, attempts, created_at, updated_at, finished_at)
SELECT id, carrier, 'done', 1, created_at, updated_at, updated_at
FROM parcelbay.shipments WHERE id LIKE 'shp_nlrace%';

INSERT INTO parcelbay.label_charges
    (shipment_id, label_job_id, carrier, carrier_label_id, amount_cents, charged_at)
SELECT s.id, j.id, s.carrier, s.carrier_label_id, s.label_cost_cents, j.finished_at
FROM parcelbay.shipments s JOIN parcelbay.label_jobs j ON j.shipment_id = s.id
WHERE s.id LIKE 'shp_nlrace%';

INSERT INTO parcelbay.carrier_webhooks
    (carrier, event_id, event_type, tracking_number, payload, status, attempts, last_error,
     received_at, available_at)
SELECT 'northline', 'nl-evt-' || (88120 + n), 'tracking.updated', t.tn,
       jsonb_build_object('tracking_number', t.tn, 'status', 'accepted'),
       'dead', 5, 'no shipment with tracking number ' || t.tn,
       now() - interval '56 minutes', now() - interval '55 minutes'
FROM generate_series(1, 11) AS n
CROSS JOIN LATERAL (
    SELECT CASE WHEN n <= 8 THEN 'NL' || (5520340 + n) ELSE 'NL' || (9100000 + n) END AS tn
) t;

INSERT INTO parcelbay.carrier_webhooks
    (carrier, event_id, event_type, tracking_number, payload, status, attempts, last_error,
     received_at, available_at)
VALUES
    ('swiftpost', 'sp-7d21c9e0', 'tracking.updated', 'SP0000700003',
     '{"tracking_number": "SP0000700003", "status": "delivered"}', 'dead', 1,
     'signature mismatch (X-Swiftpost-Signature)',
     now() - interval '20 minutes', now() - interval '20 minutes');

INSERT INTO parcelbay.webhook_dead_letters (webhook_id, carrier, reason, detail, dead_at)
SELECT id, carrier,
       CASE WHEN carrier = 'swiftpost' THEN 'invalid_signature' ELSE 'unknown_tracking_number' END,
       last_error,
       received_at + interval '1 minute'
FROM parcelbay.carrier_webhooks
WHERE status = 'dead';


-- == fault: refund-duplicates ==
-- Two merchants double-submitted refunds without an Idempotency-Key, so two
-- labels each have two live refunds. For shp_rdup1 the first refund reached
-- Swiftpost; submitting the second got the same carrier reference back and
-- hit refunds_carrier_ref_unique, which rolls back the worker's whole batch:
-- three unrelated refunds (shp_rdup3-5) are stuck in 'pending' behind them.
-- To see the exact error:
--   UPDATE parcelbay.refunds SET status = 'submitted', carrier_refund_ref = 'SP-RF-558120'
--   WHERE id = 'rfd_5a0c3e91d2b7';
-- Cleared by payments-and-refunds.md "1. Refunds stuck in pending", Option A,
-- B or C (C clears one shipment at a time).

INSERT INTO parcelbay.shipments
    (id, merchant_id, carrier, status, tracking_number, carrier_label_id, label_cost_cents,
     created_at, updated_at)
VALUES
    ('shp_rdup1', 'mer_bramble',  'swiftpost', 'cancelled', 'SP0000810001', 'SPL-810001', 742,
     now() - interval '1 day', now() - interval '50 minutes'),
    ('shp_rdup2', 'mer_tidewell', 'kestrel',   'cancelled', 'KX0000810002', 'KXL-810002', 1290,
     now() - interval '1 day', now() - interval '45 minutes'),
    ('shp_rdup3', 'mer_fernhill', 'swiftpost', 'cancelled', 'SP0000810003', 'SPL-810003', 688,
     now() - interval '1 day', now() - interval '44 minutes'),
    ('shp_rdup4', 'mer_bramble',  'northline', 'cancelled', 'NL0000810004', 'NLL-810004', 905,
     now() - interval '1 day', now() - interval '43 minutes'),
    ('shp_rdup5', 'mer_tidewell', 'swiftpost', 'cancelled', 'SP0000810005', 'SPL-810005', 731,
     now() - interval '1 day', now() - interval '42 minutes');

INSERT INTO parcelbay.label_charges (shipment_id, carrier, carrier_label_id, amount_cents, charged_at)
SELECT id, carrier, carrier_label_id, label_cost_cents, created_at + interval '1 minute'
FROM parcelbay.shipments WHERE id LIKE 'shp_rdup%';

INSERT INTO parcelbay.refunds
    (id, shipment_id, label_charge_id, carrier, amount_cents, reason, status,
     carrier_refund_ref, attempts, next_attempt_at, last_error, requested_at, submitted_at)
SELECT v.id, lc.shipment_id, lc.id, lc.carrier, lc.amount_cents, 'merchant_cancelled',
       v.status, v.ref, v.attempts, now() - v.due, v.err,
       now() - v.age, CASE WHEN v.status = 'submitted' THEN now() - v.age + interval '20 seconds' END
FROM (VALUES
    ('rfd_1f8b2c7740ae', 'shp_rdup1', 'submitted', 'SP-RF-558120', 1, interval '50 minutes',
     NULL, interval '50 minutes'),
    ('rfd_5a0c3e91d2b7', 'shp_rdup1', 'pending', NULL, 4, interval '1 minute',
     'duplicate key value violates unique constraint "refunds_carrier_ref_unique"',
     interval '49 minutes 57 seconds'),
    ('rfd_0d7e6b4a19c3', 'shp_rdup2', 'pending', NULL, 3, interval '1 minute',
     'batch aborted: duplicate key value violates unique constraint "refunds_carrier_ref_unique"',
     interval '45 minutes'),
    ('rfd_c4e2f0a83b16', 'shp_rdup2', 'pending', NULL, 3, interval '1 minute',
     'batch aborted: duplicate key value violates unique constraint "refunds_carrier_ref_unique"',
     interval '44 minutes 59 seconds'),
    ('rfd_7b93d1e5f2a0', 'shp_rdup3', 'pending', NULL, 3, interval '1 minute',
     'batch aborted: duplicate key value violates unique constraint "refunds_carrier_ref_unique"',
     interval '44 minutes'),
    ('rfd_e61a9c0b47d8', 'shp_rdup4', 'pending', NULL, 3, interval '1 minute',
     'batch aborted: duplicate key value violates unique constraint "refunds_carrier_ref_unique"',
     interval '43 minutes'),
    ('rfd_2c5f8e13a9b4', 'shp_rdup5', 'pending', NULL, 3, interval '1 minute',
     'batch aborted: duplicate key value violates unique constraint "refunds_carrier_ref_unique"',
     interval '42 minutes')
) AS v (id, shipment_id, status, ref, attempts, due, err, age)
JOIN parcelbay.label_charges lc ON lc.shipment_id = v.shipment_id;


-- == fault: refund-stale-submitted ==
-- A Kestrel refund was submitted five days ago and Kestrel never sent its
-- decision, so the refund is still 'submitted' and the API answers the
-- merchant's new request with 409 refund_already_open. Cleared by
-- payments-and-refunds.md "2. Refund API returns 409 refund_already_open",
-- Option B with <refund-id> = rfd_9c1e07b2a4f3, <carrier-refund-ref> =
-- KX-R-20931 and <carrier-decision> = approved (or rejected).

INSERT INTO parcelbay.shipments
    (id, merchant_id, carrier, status, tracking_number, carrier_label_id, label_cost_cents,
     created_at, updated_at)
VALUES
    ('shp_5TqR8vLm', 'mer_fernhill', 'kestrel', 'cancelled', 'KX0000620931', 'KXL-620931', 1475,
     now() - interval '6 days', now() - interval '5 days');

INSERT INTO parcelbay.label_charges (shipment_id, carrier, carrier_label_id, amount_cents, charged_at)
VALUES ('shp_5TqR8vLm', 'kestrel', 'KXL-620931', 1475, now() - interval '6 days');

INSERT INTO parcelbay.refunds
    (id, shipment_id, label_charge_id, carrier, amount_cents, reason, status, idempotency_key,
     carrier_refund_ref, attempts, requested_at, submitted_at)
SELECT 'rfd_9c1e07b2a4f3', 'shp_5TqR8vLm', lc.id, 'kestrel', 1475, 'merchant_cancelled',
       'submitted', 'fernhill-cancel-5TqR8vLm', 'KX-R-20931', 1,
       now() - interval '5 days 2 minutes', now() - interval '5 days'
FROM parcelbay.label_charges lc WHERE lc.carrier_label_id = 'KXL-620931';


-- == fault: double-charge ==
-- During an earlier worker stall, two label jobs were released after the
-- carrier had already sold the label: the retry bought a second label, so
-- each shipment has two charges and only the second label is in use.
-- Cleared by payments-and-refunds.md "3. Merchant charged twice for one
-- label", Resolution.

INSERT INTO parcelbay.shipments
    (id, merchant_id, carrier, status, tracking_number, carrier_label_id, label_cost_cents,
     created_at, updated_at)
VALUES
    ('shp_dbl01', 'mer_tidewell', 'swiftpost', 'in_transit', 'SP0000930002', 'SPL-930002', 812,
     now() - interval '2 days', now() - interval '1 day'),
    ('shp_dbl02', 'mer_bramble',  'northline', 'labelled',   'NL0000930004', 'NLL-930004', 955,
     now() - interval '2 days', now() - interval '1 day');

INSERT INTO parcelbay.label_jobs
    (shipment_id, carrier, status, attempts, last_error, created_at, updated_at, finished_at)
SELECT id, carrier, 'done', 2, 'released by on-call: lock held by dead worker',
       created_at, created_at + interval '50 minutes', created_at + interval '50 minutes'
FROM parcelbay.shipments WHERE id LIKE 'shp_dbl%';

INSERT INTO parcelbay.label_charges
    (shipment_id, label_job_id, carrier, carrier_label_id, amount_cents, charged_at)
SELECT s.id, j.id, s.carrier, v.label_id, s.label_cost_cents, s.created_at + v.after
FROM parcelbay.shipments s
JOIN parcelbay.label_jobs j ON j.shipment_id = s.id
JOIN (VALUES
    ('shp_dbl01', 'SPL-930001', interval '2 minutes'),   -- extra: bought, never recorded
    ('shp_dbl01', 'SPL-930002', interval '50 minutes'),  -- in use
    ('shp_dbl02', 'NLL-930003', interval '2 minutes'),
    ('shp_dbl02', 'NLL-930004', interval '50 minutes')
) AS v (shipment_id, label_id, after) ON v.shipment_id = s.id;
