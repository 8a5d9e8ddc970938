-- flinkpg: the demo's target table in PostgreSQL — the result of the join defined in
-- sql/flink/sources.sql (view orders_shipments), one row per (order, shipment).
--
--   psql -v table=orders_shipments -f sql/postgres/orders_shipments.sql
--
-- shipment_id = 0 is the row of an order without shipments (its shipment columns are
-- NULL). The generator writes the expected final content into a table with exactly
-- these column types (flinkpg-generator --expected-table, default expected_<target>),
-- and sql/validate.sql compares the two.
--
-- The insert-all policy needs the same columns WITHOUT the primary key, or PostgreSQL
-- refuses its duplicates: psql -v table=... -v keyless=1 -f this file.
\if :{?table}
\else
  \set table orders_shipments
\endif
\if :{?keyless}
CREATE TABLE IF NOT EXISTS :"table" (
  order_id            bigint NOT NULL,
  shipment_id         bigint NOT NULL,
  customer            text,
  product             text,
  quantity            int,
  amount              numeric(12,2),
  order_status        text,
  carrier             text,
  shipment_status     text,
  order_updated_at    timestamptz,
  shipment_updated_at timestamptz
);
\else
CREATE TABLE IF NOT EXISTS :"table" (
  order_id            bigint NOT NULL,
  shipment_id         bigint NOT NULL,
  customer            text,
  product             text,
  quantity            int,
  amount              numeric(12,2),
  order_status        text,
  carrier             text,
  shipment_status     text,
  order_updated_at    timestamptz,
  shipment_updated_at timestamptz,
  PRIMARY KEY (order_id, shipment_id)
);
\endif
