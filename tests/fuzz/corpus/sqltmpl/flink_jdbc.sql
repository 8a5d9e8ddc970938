-- flinkpg: Apache Flink SQL — the reference: Flink's own JDBC sink writing the join straight
-- into PostgreSQL (flink-connector-jdbc). Run after sources.sql in the same SQL Gateway session.
--
-- Placeholders:
--   ${jdbc_url}       e.g. jdbc:postgresql://127.0.0.1:5432/flinkpg
--   ${jdbc_user}      PostgreSQL user
--   ${jdbc_password}  its password ('' when the server trusts the connection)
--   ${target_table}   PostgreSQL table, optionally schema-qualified (e.g. public.orders_shipments_flink)
--   ${job_name}       Flink job name (pipeline.name), e.g. flinkpg-<run>-jdbc
--
-- The PostgreSQL table must exist with a primary key on (order_id, shipment_id); the JDBC
-- sink does not create it. Types: BIGINT, TEXT/VARCHAR, INTEGER, NUMERIC(12,2),
-- TIMESTAMPTZ (written as UTC; see the cast below) — e.g.
--   CREATE TABLE t (order_id bigint, shipment_id bigint, customer text, product text,
--     quantity integer, amount numeric(12,2), order_status text, carrier text,
--     shipment_status text, order_updated_at timestamptz, shipment_updated_at timestamptz,
--     PRIMARY KEY (order_id, shipment_id))
-- Behaviour: +I/+U -> INSERT ... ON CONFLICT (order_id, shipment_id) DO UPDATE,
--            -D -> DELETE by key; -U ignored. Writes are flushed at least every second
--            and on every checkpoint.

SET 'pipeline.name' = '${job_name}';

CREATE TABLE result_jdbc (
  order_id            BIGINT,
  shipment_id         BIGINT,
  customer            STRING,
  product             STRING,
  quantity            INT,
  amount              DECIMAL(12, 2),
  order_status        STRING,
  carrier             STRING,
  shipment_status     STRING,
  order_updated_at    TIMESTAMP(3),
  shipment_updated_at TIMESTAMP(3),
  PRIMARY KEY (order_id, shipment_id) NOT ENFORCED
) WITH (
  'connector' = 'jdbc',
  'url' = '${jdbc_url}',
  'table-name' = '${target_table}',
  'username' = '${jdbc_user}',
  'password' = '${jdbc_password}',
  'sink.buffer-flush.max-rows' = '500',
  'sink.buffer-flush.interval' = '1s',
  'sink.max-retries' = '3'
);

-- The JDBC connector's PostgreSQL dialect has no TIMESTAMP_LTZ (fails at run time with
-- "Unsupported type:TIMESTAMP_LTZ(3)"), so the timestamps are cast to TIMESTAMP(3) in the
-- session time zone, UTC (sources.sql sets it; the peer's JVMs also run with
-- -Duser.timezone=UTC so the driver sends them as UTC into a timestamptz column).
INSERT INTO result_jdbc
SELECT
  order_id, shipment_id, customer, product, quantity, amount, order_status, carrier,
  shipment_status,
  CAST(order_updated_at AS TIMESTAMP(3)),
  CAST(shipment_updated_at AS TIMESTAMP(3))
FROM orders_shipments;
