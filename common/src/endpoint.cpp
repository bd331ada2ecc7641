#include "ringtrace/common/endpoint.hpp"

#include <boost/url/parse.hpp>

#include "ringtrace/common/config.hpp"

namespace ringtrace::common {

Endpoint parse_endpoint(std::string_view url, std::string_view scheme, std::string_view key) {
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw ConfigError(std::string(key) + ": '" + std::string(url) + "' is not a URL");
  if (parsed->scheme() != scheme) {
    throw ConfigError(std::string(key) + ": expected a " + std::string(scheme) + ":// URL, got '" + std::string(url) + "'");
  }
  if (parsed->host().empty()) throw ConfigError(std::string(key) + ": '" + std::string(url) + "' has no host");
  Endpoint endpoint;
  endpoint.host = parsed->host_address();
  endpoint.port = parsed->has_port() ? std::string(parsed->port()) : "80";
  endpoint.target = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) endpoint.target += "?" + std::string(parsed->encoded_query());
  return endpoint;
}

}  // namespace ringtrace::common
