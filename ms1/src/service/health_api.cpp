#include "ringtrace/ms1/service/health_api.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "ringtrace/common/admin_server.hpp"

namespace ringtrace::ms1 {

namespace http = boost::beast::http;
namespace json = boost::json;

HealthApi::HealthApi(const Ms2Link& link, const StoreWriter& writer, const SessionRunner& runner,
                     const common::MetricsRegistry& metrics)
    : link_(link), writer_(writer), runner_(runner), metrics_(metrics) {}

common::HttpResponse HealthApi::health() const {
  const bool ready = link_.connected() && writer_.connected() && !runner_.shutting_down();
  json::object body{{"status", ready ? "ok" : "degraded"},
                    {"ms2_connected", link_.connected()},
                    {"database_connected", writer_.connected()}};
  return common::json_response(ready ? http::status::ok : http::status::service_unavailable, json::serialize(body));
}

common::HttpResponse HealthApi::metrics() const { return common::metrics_response(metrics_); }

}  // namespace ringtrace::ms1
