#pragma once
/// @file
/// Parsing of the http:// and ws:// URLs found in the configuration.

#include <cstdint>
#include <string>
#include <string_view>

namespace ringtrace::common {

/// Where to connect and what to ask for.
struct Endpoint {
  std::string host;    ///< name or address
  std::string port;    ///< as a string, the form resolvers take
  std::string target;  ///< path (+ query), at least "/"
};

/// Parses `url`, requiring scheme `scheme` (`http` or `ws`); throws ConfigError naming `key` otherwise.
Endpoint parse_endpoint(std::string_view url, std::string_view scheme, std::string_view key);

}  // namespace ringtrace::common
