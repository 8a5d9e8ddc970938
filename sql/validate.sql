-- flinkpg: compare a target table with the expected final table the generator wrote.
--
--   psql -v target=orders_shipments -v expected=expected_orders_shipments -f sql/validate.sql
--
-- Without -v: target orders_shipments (sql/postgres/orders_shipments.sql's default) and
-- expected expected_<target> (flinkpg-generator --expected-table's default).
--
-- (unqualified table names: psql quotes each as one identifier.)  One row:
--
--   rows_expected   rows in the expected table (one per key (order_id, shipment_id))
--   rows_present    rows in the target table, duplicates included
--   missing         expected keys with no row in the target
--   unexpected      keys in the target that are not expected (each key counted once,
--                   however many rows hold it): rows that should have been deleted
--   wrong_values    expected keys present in the target where NO row with that key holds
--                   the expected values (a key with one stale copy and one correct copy
--                   is not wrong: it is a duplicate)
--   duplicate_keys  keys held by more than one row (possible only without a primary key,
--                   e.g. the insert-all policy)
--   surplus_rows    rows beyond the first per key: rows_present - distinct keys, so
--                   rows_present = rows_expected - missing + unexpected + surplus_rows
--   verdict         PASS when missing, unexpected, wrong_values and duplicate_keys are all 0
--
-- Values compare column by column with IS NOT DISTINCT FROM (NULL equals NULL), amounts
-- as numeric and timestamps as timestamptz, so 12.5 = 12.50 and equal instants in
-- different notations match.
--
-- The same query runs from C: common/validate.c (validate_tables) — keep the two identical.
\if :{?target}
\else
  \set target orders_shipments
\endif
\if :{?expected}
\else
  \set expected expected_ :target
\endif
WITH
t AS (SELECT * FROM :"target"),
e AS (SELECT * FROM :"expected"),
tk AS (SELECT order_id, shipment_id, count(*) AS n FROM t GROUP BY order_id, shipment_id),
s AS (
  SELECT
    (SELECT count(*) FROM e) AS rows_expected,
    (SELECT count(*) FROM t) AS rows_present,
    (SELECT count(*) FROM e
      WHERE NOT EXISTS (SELECT 1 FROM tk WHERE tk.order_id = e.order_id AND tk.shipment_id = e.shipment_id)) AS missing,
    (SELECT count(*) FROM tk
      WHERE NOT EXISTS (SELECT 1 FROM e WHERE e.order_id = tk.order_id AND e.shipment_id = tk.shipment_id)) AS unexpected,
    (SELECT count(*) FROM e
      WHERE EXISTS (SELECT 1 FROM tk WHERE tk.order_id = e.order_id AND tk.shipment_id = e.shipment_id)
        AND NOT EXISTS (SELECT 1 FROM t WHERE t.order_id = e.order_id AND t.shipment_id = e.shipment_id
          AND (t.customer, t.product, t.quantity::bigint, t.amount::numeric, t.order_status, t.carrier,
               t.shipment_status, t.order_updated_at::timestamptz, t.shipment_updated_at::timestamptz)
              IS NOT DISTINCT FROM
              (e.customer, e.product, e.quantity::bigint, e.amount::numeric, e.order_status, e.carrier,
               e.shipment_status, e.order_updated_at::timestamptz, e.shipment_updated_at::timestamptz))) AS wrong_values,
    (SELECT count(*) FROM tk WHERE n > 1) AS duplicate_keys,
    (SELECT coalesce(sum(n - 1), 0) FROM tk) AS surplus_rows
)
SELECT rows_expected, rows_present, missing, unexpected, wrong_values, duplicate_keys, surplus_rows,
       CASE WHEN missing + unexpected + wrong_values + duplicate_keys = 0 THEN 'PASS' ELSE 'FAIL' END AS verdict
FROM s;
