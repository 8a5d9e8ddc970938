-- flinkpg: Confluent Cloud for Apache Flink — the demo's source tables.  Submit with
-- flinkpg-statements --backend confluent (one statement resource per SQL statement; the
-- DDL ones COMPLETE before the next is sent) in the environment (catalog) and Kafka cluster
-- (database) given by --catalog / --database (sql.current-catalog / sql.current-database).
--
-- Placeholders (same names as sql/flink/):
--   ${orders_topic}, ${shipments_topic}   input topics (= table names in Confluent Cloud)
--
-- In Confluent Cloud a table IS a topic plus its Schema Registry subjects (<topic>-key,
-- <topic>-value); CREATE TABLE creates both when missing.  The generator writes the
-- Schema Registry wire format (--schema-registry) for these tables: key {"order_id":1},
-- value the whole row (id repeated, hence value.fields-include = all), tombstone = delete.
-- There are no temporary views in a statement-per-request API, so the join is written out
-- in each sink file (upsert.sql, retract.sql); it is the same join as sql/flink/sources.sql.

CREATE TABLE IF NOT EXISTS `${orders_topic}` (
  order_id    BIGINT NOT NULL,
  customer    STRING,
  product     STRING,
  quantity    INT,
  amount      DECIMAL(12, 2),
  status      STRING,
  created_at  TIMESTAMP_LTZ(3),
  updated_at  TIMESTAMP_LTZ(3),
  PRIMARY KEY (order_id) NOT ENFORCED
) WITH (
  'changelog.mode' = 'upsert',
  'key.format' = 'json-registry',
  'value.format' = 'json-registry',
  'value.fields-include' = 'all',
  'scan.startup.mode' = 'earliest-offset'
);

CREATE TABLE IF NOT EXISTS `${shipments_topic}` (
  shipment_id BIGINT NOT NULL,
  order_id    BIGINT,
  carrier     STRING,
  status      STRING,
  created_at  TIMESTAMP_LTZ(3),
  updated_at  TIMESTAMP_LTZ(3),
  PRIMARY KEY (shipment_id) NOT ENFORCED
) WITH (
  'changelog.mode' = 'upsert',
  'key.format' = 'json-registry',
  'value.format' = 'json-registry',
  'value.fields-include' = 'all',
  'scan.startup.mode' = 'earliest-offset'
);
