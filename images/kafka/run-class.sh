#!/bin/bash
# kafka-run-class CLASS ARGS...: any Kafka tool class on the broker's classpath, e.g.
#   kafka-run-class org.apache.kafka.tools.TopicCommand --bootstrap-server localhost:9092 --list
set -euo pipefail
exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
  -Dlog4j.configuration=file:/opt/kafka/tools-log4j.properties \
  -cp '/opt/kafka/libs/*' "$@"
