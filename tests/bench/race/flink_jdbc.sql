-- make race: Flink's own JDBC sink (flink-connector-jdbc) draining the race's upsert
-- topic (tests/tools/racegen --upsert) into a PostgreSQL table with the primary key.
-- The source is an upsert-kafka table (key {"id":…}, except-key JSON values with
-- ISO-8601 times); Flink adds its ChangelogNormalize step, as for any upsert source.
--
-- Placeholders: job_name topic bootstrap src dst jdbc_url jdbc_user target_table
--               max_rows interval parallelism

SET 'pipeline.name' = '${job_name}';
SET 'parallelism.default' = '${parallelism}';
SET 'table.local-time-zone' = 'UTC';

CREATE TABLE ${src} (
  id              BIGINT,
  customer        STRING,
  product         STRING,
  quantity        INT,
  amount          DECIMAL(12, 2),
  order_status    STRING,
  carrier         STRING,
  shipment_status STRING,
  created_at      TIMESTAMP_LTZ(3),
  updated_at      TIMESTAMP_LTZ(3),
  version         BIGINT,
  PRIMARY KEY (id) NOT ENFORCED
) WITH (
  'connector' = 'upsert-kafka',
  'topic' = '${topic}',
  'properties.bootstrap.servers' = '${bootstrap}',
  'properties.group.id' = '${job_name}',
  'key.format' = 'json',
  'value.format' = 'json',
  'value.fields-include' = 'EXCEPT_KEY',
  'value.json.timestamp-format.standard' = 'ISO-8601'
);

-- the JDBC dialect has no TIMESTAMP_LTZ: TIMESTAMP(3) in UTC, as sql/flink/jdbc.sql does
CREATE TABLE ${dst} (
  id              BIGINT,
  customer        STRING,
  product         STRING,
  quantity        INT,
  amount          DECIMAL(12, 2),
  order_status    STRING,
  carrier         STRING,
  shipment_status STRING,
  created_at      TIMESTAMP(3),
  updated_at      TIMESTAMP(3),
  version         BIGINT,
  PRIMARY KEY (id) NOT ENFORCED
) WITH (
  'connector' = 'jdbc',
  'url' = '${jdbc_url}',
  'table-name' = '${target_table}',
  'username' = '${jdbc_user}',
  'password' = '',
  'sink.buffer-flush.max-rows' = '${max_rows}',
  'sink.buffer-flush.interval' = '${interval}',
  'sink.max-retries' = '3'
);

INSERT INTO ${dst}
SELECT id, customer, product, quantity, amount, order_status, carrier, shipment_status,
       CAST(created_at AS TIMESTAMP(3)), CAST(updated_at AS TIMESTAMP(3)), version
FROM ${src};
