-- flinkpg: Apache Flink SQL — RETRACT mode: the join written with the kafka connector and
-- the debezium-json changelog format. Run after sources.sql in the same SQL Gateway session.
--
-- Placeholders:
--   ${output_topic}   Kafka topic the result is written to
--   ${bootstrap}      Kafka bootstrap servers
--   ${kafka_options}  extra Kafka client options, each followed by a comma, or empty (see sources.sql)
--   ${job_name}       Flink job name (pipeline.name), e.g. flinkpg-<run>-retract
--
-- What lands on the topic (Apache Flink, kafka + debezium-json):
--   key   = {"order_id":1,"shipment_id":0}   (JSON, from key.fields; used for partitioning
--           only: the kafka connector takes no PRIMARY KEY with a changelog format)
--   value = +I / +U: {"before":null,"after":{<row>},"op":"c"}
--           -U / -D: {"before":{<row>},"after":null,"op":"d"}       (never "u")
--   No headers. Every change of a row is a -U/+U pair, i.e. a "d" then a "c".
--   (Confluent Cloud writes retract differently: an `op` header byte, see the brief.)
--
-- Delivery: exactly-once (Kafka transactions, committed at each Flink checkpoint, every
-- 2 s on the local peer). Consumers must read with isolation.level=read_committed
-- (librdkafka's default) and must expect gaps in the offsets: each commit marker takes
-- an offset. transactional-id-prefix = the job name, so keep ${job_name} unique per
-- running statement and the same when resuming it from a savepoint.

SET 'pipeline.name' = '${job_name}';

CREATE TABLE result_retract (
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
  'value.format' = 'debezium-json',
  'value.fields-include' = 'ALL',
  'value.debezium-json.timestamp-format.standard' = 'ISO-8601',
  'value.debezium-json.encode.decimal-as-plain-number' = 'true',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${job_name}',
  -- Flink's KafkaSink asks for 1 h transactions, brokers allow 15 min by default
  'properties.transaction.timeout.ms' = '900000'
);

INSERT INTO result_retract SELECT * FROM orders_shipments;
