/// @file
/// Reading headers of a consumed record, on headers built by hand (no broker).

#include "ringtrace/ms3/kafka_record.hpp"

#include <memory>

#include <gtest/gtest.h>

namespace ringtrace::ms3 {
namespace {

struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* headers) const { rd_kafka_headers_destroy(headers); }
};
using Headers = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;

TEST(KafkaRecord, LastHeaderIsTheLastValueOfThatName) {
  Headers headers(rd_kafka_headers_new(4));
  ASSERT_EQ(rd_kafka_header_add(headers.get(), "traceparent", -1, "first", -1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_header_add(headers.get(), "other", -1, "x", -1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_header_add(headers.get(), "traceparent", -1, "second", -1), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(last_header(headers.get(), kTraceparentHeader), "second");
  EXPECT_EQ(last_header(headers.get(), "other"), "x");
}

TEST(KafkaRecord, MissingOrValuelessHeaderIsEmpty) {
  Headers headers(rd_kafka_headers_new(2));
  ASSERT_EQ(rd_kafka_header_add(headers.get(), "traceparent", -1, nullptr, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(last_header(headers.get(), "traceparent"), "");
  EXPECT_EQ(last_header(headers.get(), "absent"), "");
  EXPECT_EQ(last_header(nullptr, "traceparent"), "") << "a record without headers";
}

TEST(KafkaRecord, ValuesMayHoldAnyBytes) {
  Headers headers(rd_kafka_headers_new(1));
  const char value[] = {'a', '\0', 'b'};
  ASSERT_EQ(rd_kafka_header_add(headers.get(), "bin", -1, value, sizeof value), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(last_header(headers.get(), "bin"), std::string_view(value, sizeof value));
}

}  // namespace
}  // namespace ringtrace::ms3
