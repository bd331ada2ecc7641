#pragma once
/// @file
/// The shared secret of the internal hops (`security.token`): MS1 checks it on POST /store and MS2
/// on its WebSocket upgrade, the same way; MS3 and MS1 present it. See docs/security.md.

#include <optional>
#include <string>
#include <string_view>

#include "ringtrace/common/http_session.hpp"

namespace ringtrace::common {

/// What a request's credentials amount to, so the refusal can say which.
enum class AuthOutcome {
  kOk,       ///< the right token, or no token configured (open)
  kMissing,  ///< no Authorization header, several, or another scheme than Bearer
  kWrong,    ///< a Bearer token that is not the configured one
};

/// The `<token>` of an `Authorization: Bearer <token>` value (scheme case-insensitive, RFC 9110
/// 11.1); nullopt for another scheme, an empty token or one with whitespace inside.
std::optional<std::string_view> bearer_token(std::string_view authorization);

/// Equality whose running time depends only on `given`'s length, never on where it first differs
/// from `expected` nor on `expected`'s length, so timing tells a guesser nothing about the secret.
bool constant_time_equal(std::string_view expected, std::string_view given);

/// Throws ConfigError naming `where` (never the value) unless `token` can travel in a header:
/// visible ASCII only, no spaces or control characters.
void check_token(std::string_view token, const std::string& where);

/// The token in file `path` with trailing whitespace stripped (a file written by `echo` works);
/// throws ConfigError naming `where` and the path when it is missing, unreadable or empty.
std::string read_token_file(const std::string& path, const std::string& where);

/// The configured token as a check on incoming requests and a header for outgoing ones.
/// Immutable after construction; safe to share between threads.
class BearerAuth {
 public:
  /// `token` empty = open: every request passes.
  explicit BearerAuth(std::string token = {});

  /// True when no token is configured.
  [[nodiscard]] bool open() const { return token_.empty(); }
  /// Checks `request`'s Authorization header in constant time.
  [[nodiscard]] AuthOutcome check(const HttpRequest& request) const;
  /// `Bearer <token>` for a client's Authorization header; empty when open.
  [[nodiscard]] std::string header_value() const;

 private:
  std::string token_;
};

/// The 401 of a refused request: `WWW-Authenticate: Bearer` and `{"error":"missing bearer token"}`
/// or `{"error":"wrong bearer token"}`.
HttpResponse unauthorized_response(AuthOutcome outcome);

/// Logs the one startup warning of an open service: `security.token is empty: <what> is open to
/// anyone who can reach it`; nothing when a token is set.
void warn_if_open(const BearerAuth& auth, std::string_view what);

}  // namespace ringtrace::common
