#!/bin/bash
# The official image's tool of this name (the compose health check runs it): asks a broker for
# the API versions it supports, with the same arguments.
exec java -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.xml -Xmx128m -XX:TieredStopAtLevel=1 \
  -cp '/opt/kafka/libs/*' org.apache.kafka.tools.BrokerApiVersionsCommand "$@"
