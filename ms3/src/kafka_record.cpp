#include "ringtrace/ms3/kafka_record.hpp"

#include <cstddef>

namespace ringtrace::ms3 {

std::string_view last_header(const rd_kafka_headers_t* headers, const char* name) {
  const void* value = nullptr;
  std::size_t size = 0;
  if (headers == nullptr || rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return {};
  }
  return {static_cast<const char*>(value), size};
}

RecordView record_view(RdKafka::Message& record, bool with_traceparent) {
  RecordView view{{static_cast<const char*>(record.payload()), record.len()}, {}};
  if (!with_traceparent) return view;
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(record.c_ptr(), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    view.traceparent = last_header(headers, kTraceparentHeader);
  }
  return view;
}

}  // namespace ringtrace::ms3
