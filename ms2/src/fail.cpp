#include "ringtrace/ms2/fail.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/error.hpp>
#include <spdlog/spdlog.h>

namespace ringtrace::ms2::detail {

void fail(boost::beast::error_code ec, const char* what) {
  namespace net = boost::asio;
  if (ec == net::error::operation_aborted || ec == boost::beast::websocket::error::closed ||
      ec == net::error::eof || ec == net::error::connection_reset || ec == boost::beast::http::error::end_of_stream) {
    spdlog::debug("ms2: {}: {}", what, ec.message());
    return;
  }
  spdlog::warn("ms2: {}: {}", what, ec.message());
}

}  // namespace ringtrace::ms2::detail
