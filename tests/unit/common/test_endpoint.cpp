#include <gtest/gtest.h>

#include "ringtrace/common/backoff.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/endpoint.hpp"

using namespace ringtrace::common;

TEST(Endpoint, ParsesWebSocketUrl) {
  const auto e = parse_endpoint("ws://127.0.0.1:8081/ws", "ws", "ms1.ms2_url");
  EXPECT_EQ(e.host, "127.0.0.1");
  EXPECT_EQ(e.port, "8081");
  EXPECT_EQ(e.target, "/ws");
}

TEST(Endpoint, DefaultsPortAndPathAndKeepsQuery) {
  const auto e = parse_endpoint("http://ms1", "http", "ms3.store_url");
  EXPECT_EQ(e.port, "80");
  EXPECT_EQ(e.target, "/");
  EXPECT_EQ(parse_endpoint("http://h:1/store?x=1", "http", "k").target, "/store?x=1");
}

TEST(Endpoint, RejectsWrongSchemeNamingTheKey) {
  try {
    parse_endpoint("http://127.0.0.1:8081/ws", "ws", "ms1.ms2_url");
    FAIL() << "accepted a wrong scheme";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("ms1.ms2_url"), std::string::npos);
  }
  EXPECT_THROW(parse_endpoint("not a url", "http", "k"), ConfigError);
  EXPECT_THROW(parse_endpoint("http:///path", "http", "k"), ConfigError);
}

TEST(Backoff, DoublesUpToCeilingAndResets) {
  Backoff b(std::chrono::milliseconds(100), std::chrono::milliseconds(350));
  EXPECT_EQ(b.next().count(), 100);
  EXPECT_EQ(b.next().count(), 200);
  EXPECT_EQ(b.next().count(), 350);
  EXPECT_EQ(b.next().count(), 350);
  b.reset();
  EXPECT_EQ(b.next().count(), 100);
}
