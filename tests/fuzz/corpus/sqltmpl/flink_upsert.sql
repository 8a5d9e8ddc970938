-- flinkpg: Apache Flink SQL — UPSERT mode: the join written with the upsert-kafka connector.
-- Run after sources.sql in the same SQL Gateway session.
--
-- Placeholders:
--   ${output_topic}   Kafka topic the result is written to
--   ${bootstrap}      Kafka bootstrap servers
--   ${kafka_options}  extra Kafka client options, each followed by a comma, or empty (see sources.sql)
--   ${job_name}       Flink job name (pipeline.name), e.g. flinkpg-<run>-upsert
--
-- What lands on the topic (Apache Flink upsert-kafka):
--   key   = {"order_id":1,"shipment_id":0}              (JSON, the primary key)
--   value = the full row as JSON (key columns included: value.fields-include = ALL)
--           for INSERT and UPDATE_AFTER; null (tombstone) for DELETE,
--           UPDATE_BEFORE is not written. No headers.
--   timestamps as ISO-8601 UTC ("2024-05-01T10:00:00Z").
-- A sink applies: tombstone -> DELETE by key, anything else -> INSERT ... ON CONFLICT DO UPDATE.
--
-- Delivery: exactly-once (Kafka transactions, committed at each Flink checkpoint, every
-- 2 s on the local peer). Consumers must read with isolation.level=read_committed
-- (librdkafka's default) and must expect gaps in the offsets: each commit marker takes
-- an offset. transactional-id-prefix = the job name, so keep ${job_name} unique per
-- running statement and the same when resuming it from a savepoint.

SET 'pipeline.name' = '${job_name}';

CREATE TABLE result_upsert (
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
  shipment_updated_at TIMESTAMP_LTZ(3),
  PRIMARY KEY (order_id, shipment_id) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = '${output_topic}',
  ${kafka_options}
  'properties.bootstrap.servers' = '${bootstrap}',
  'key.format' = 'json',
  'value.format' = 'json',
  'value.fields-include' = 'ALL',
  'value.json.timestamp-format.standard' = 'ISO-8601',
  'value.json.encode.decimal-as-plain-number' = 'true',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${job_name}',
  -- Flink's KafkaSink asks for 1 h transactions, brokers allow 15 min by default
  'properties.transaction.timeout.ms' = '900000'
);

INSERT INTO result_upsert SELECT * FROM orders_shipments;
