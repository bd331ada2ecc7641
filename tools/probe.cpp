/// @file
/// ringtrace-probe: GETs a URL and exits 0 on a 2xx answer. The container health checks use it,
/// so the runtime images need neither curl nor a shell, and the native tests run the very same
/// check against the very same endpoints.

#include <charconv>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "ringtrace/common/config.hpp"
#include "ringtrace/common/endpoint.hpp"

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

constexpr int kExitHealthy = 0;
constexpr int kExitUnhealthy = 1;
constexpr int kExitUsage = 2;

int usage() {
  std::fprintf(stderr, "usage: ringtrace-probe http://HOST:PORT/PATH [--timeout-ms N]\n"
                       "  exits 0 when the GET answers 2xx, 1 otherwise, 2 on bad arguments\n");
  return kExitUsage;
}

/// One GET with a single deadline over resolve, connect, write and read.
int probe(const ringtrace::common::Endpoint& endpoint, std::chrono::milliseconds timeout) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  http::response<http::string_body> response;
  beast::error_code failure;
  const auto fail = [&](beast::error_code ec) {
    failure = ec;
    ioc.stop();
  };
  net::ip::tcp::resolver resolver(ioc);
  http::request<http::empty_body> request{http::verb::get, endpoint.target, 11};
  request.set(http::field::host, endpoint.host);
  request.set(http::field::user_agent, "ringtrace-probe");
  request.set(http::field::connection, "close");
  beast::flat_buffer buffer;
  stream.expires_after(timeout);
  resolver.async_resolve(endpoint.host, endpoint.port, [&](beast::error_code ec, net::ip::tcp::resolver::results_type results) {
    if (ec) return fail(ec);
    stream.async_connect(results, [&](beast::error_code ec, const net::ip::tcp::endpoint&) {
      if (ec) return fail(ec);
      http::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
        if (ec) return fail(ec);
        http::async_read(stream, buffer, response, [&](beast::error_code ec, std::size_t) {
          if (ec) return fail(ec);
        });
      });
    });
  });
  ioc.run_for(timeout + std::chrono::milliseconds(100));
  if (failure || response.result_int() == 0) {
    std::fprintf(stderr, "ringtrace-probe: %s:%s%s: %s\n", endpoint.host.c_str(), endpoint.port.c_str(),
                 endpoint.target.c_str(), failure ? failure.message().c_str() : "no answer in time");
    return kExitUnhealthy;
  }
  const auto status = response.result_int();
  if (status < 200 || status >= 300) {
    std::fprintf(stderr, "ringtrace-probe: %s answered %u: %s\n", endpoint.target.c_str(), status, response.body().c_str());
    return kExitUnhealthy;
  }
  return kExitHealthy;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view url;
  long timeout_ms = 2000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--timeout-ms" && i + 1 < argc) {
      const std::string_view value = argv[++i];
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), timeout_ms);
      if (ec != std::errc() || ptr != value.data() + value.size() || timeout_ms <= 0) return usage();
    } else if (url.empty() && !arg.starts_with("-")) {
      url = arg;
    } else {
      return usage();
    }
  }
  if (url.empty()) return usage();
  try {
    return probe(ringtrace::common::parse_endpoint(url, "http", "URL"), std::chrono::milliseconds(timeout_ms));
  } catch (const ringtrace::common::ConfigError& e) {
    std::fprintf(stderr, "ringtrace-probe: %s\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringtrace-probe: %s\n", e.what());
    return kExitUnhealthy;
  }
}
