-- flinkpg: Apache Flink SQL — APPEND mode: an insert-only result written with the kafka
-- connector and plain json. Self-contained: it does NOT use sources.sql, because an append
-- stream needs insert-only inputs and the upsert-kafka tables of sources.sql are updating.
--
-- Placeholders:
--   ${orders_topic}, ${shipments_topic}, ${output_topic}, ${bootstrap}, ${kafka_options}
--                     as in sources.sql / upsert.sql
--   ${group_id}       consumer group id for the two event-log readers, e.g. flinkpg-<run>-append
--   ${job_name}       Flink job name (pipeline.name), e.g. flinkpg-<run>-append
--
-- Meaning: the topics are read as event logs (the plain kafka connector: every record is
-- an INSERT, tombstones are skipped because a null value deserializes to nothing), and
-- the two logs are INNER JOINed on order_id. An inner join of insert-only inputs is
-- insert-only: every version of an order meets every version of its shipments, and each
-- meeting is appended. Nothing is ever updated or deleted, so applying this topic to a
-- table by key keeps the LAST joined version seen; applying it with plain INSERTs piles
-- up every version (the characteristic damage of treating a changelog as append-only).
-- (A LEFT JOIN would not do here: it retracts its null-padded rows, so it is never
-- append-only, even over append-only inputs.)
--
-- What lands on the topic:
--   key   = {"order_id":1,"shipment_id":7}   (JSON, from key.fields)
--   value = the joined row as plain JSON; no headers; never a tombstone.
--
-- Delivery: exactly-once (Kafka transactions, committed at each Flink checkpoint, every
-- 2 s on the local peer). Consumers must read with isolation.level=read_committed
-- (librdkafka's default) and must expect gaps in the offsets: each commit marker takes
-- an offset. transactional-id-prefix = the job name, so keep ${job_name} unique per
-- running statement and the same when resuming it from a savepoint.

SET 'table.local-time-zone' = 'UTC';
SET 'pipeline.name' = '${job_name}';

CREATE TABLE orders_log (
  order_id    BIGINT,
  customer    STRING,
  product     STRING,
  quantity    INT,
  amount      DECIMAL(12, 2),
  status      STRING,
  created_at  TIMESTAMP_LTZ(3),
  updated_at  TIMESTAMP_LTZ(3)
) WITH (
  'connector' = 'kafka',
  'topic' = '${orders_topic}',
  ${kafka_options}
  'properties.bootstrap.servers' = '${bootstrap}',
  'properties.group.id' = '${group_id}',
  'scan.startup.mode' = 'earliest-offset',
  'value.format' = 'json',
  'value.json.timestamp-format.standard' = 'ISO-8601'
);

CREATE TABLE shipments_log (
  shipment_id BIGINT,
  order_id    BIGINT,
  carrier     STRING,
  status      STRING,
  created_at  TIMESTAMP_LTZ(3),
  updated_at  TIMESTAMP_LTZ(3)
) WITH (
  'connector' = 'kafka',
  'topic' = '${shipments_topic}',
  ${kafka_options}
  'properties.bootstrap.servers' = '${bootstrap}',
  'properties.group.id' = '${group_id}',
  'scan.startup.mode' = 'earliest-offset',
  'value.format' = 'json',
  'value.json.timestamp-format.standard' = 'ISO-8601'
);

CREATE TABLE result_append (
  order_id            BIGINT,
  shipment_id         BIGINT,
  customer            STRING,
  product             STRING,
  quantity            INT,
  amount              DECIMAL(12, 2),
  order_status        STRING,
  carrier             STRING,
  shipment_status     STRING,
  order_updated_at    TIMESTAMP_LTZ(3),
  shipment_updated_at TIMESTAMP_LTZ(3)
) WITH (
  'connector' = 'kafka',
  'topic' = '${output_topic}',
  ${kafka_options}
  'properties.bootstrap.servers' = '${bootstrap}',
  'key.format' = 'json',
  'key.fields' = 'order_id;shipment_id',
  'value.format' = 'json',
  'value.fields-include' = 'ALL',
  'value.json.timestamp-format.standard' = 'ISO-8601',
  'value.json.encode.decimal-as-plain-number' = 'true',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${job_name}',
  -- Flink's KafkaSink asks for 1 h transactions, brokers allow 15 min by default
  'properties.transaction.timeout.ms' = '900000'
);

INSERT INTO result_append
SELECT
  o.order_id,
  s.shipment_id,
  o.customer,
  o.product,
  o.quantity,
  o.amount,
  o.status     AS order_status,
  s.carrier,
  s.status     AS shipment_status,
  o.updated_at AS order_updated_at,
  s.updated_at AS shipment_updated_at
FROM orders_log AS o
JOIN shipments_log AS s
  ON o.order_id = s.order_id;
