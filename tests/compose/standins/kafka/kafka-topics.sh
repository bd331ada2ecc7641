#!/bin/bash
# The official image's tool of this name: creates, lists and describes topics, with the same
# arguments (the container test asks it for the replicas and configs of MS2's topic).
exec java -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.xml -Xmx128m -XX:TieredStopAtLevel=1 \
  -cp '/opt/kafka/libs/*' org.apache.kafka.tools.TopicCommand "$@"
