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
  'value.debezium-json.timestamp-format.standard' = 'ISO-8601'
);

INSERT INTO result_retract SELECT * FROM orders_shipments;
