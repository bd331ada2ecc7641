#include "ringtrace/common/auth.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "ringtrace/common/config.hpp"

namespace ringtrace::common {

namespace http = boost::beast::http;

namespace {

constexpr std::string_view kScheme = "bearer";

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool same_ascii_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  const auto value = trim(authorization);
  const auto space = value.find(' ');
  if (space == std::string_view::npos || !same_ascii_ignoring_case(value.substr(0, space), kScheme)) {
    return std::nullopt;
  }
  const auto token = trim(value.substr(space + 1));
  if (token.empty() || std::any_of(token.begin(), token.end(), is_space)) return std::nullopt;
  return token;
}

bool constant_time_equal(std::string_view expected, std::string_view given) {
  // Every byte of `given` meets a byte of `expected` (cycled; zero when it is empty) and the
  // differences are OR-ed together, so the loop never ends early, and its length is the caller's.
  const std::size_t n = expected.size();
  unsigned diff = expected.size() == given.size() ? 0U : 1U;
  for (std::size_t i = 0; i < given.size(); ++i) {
    const auto e = n == 0 ? 0U : static_cast<unsigned char>(expected[i % n]);
    diff |= e ^ static_cast<unsigned char>(given[i]);
  }
  return diff == 0;
}

void check_token(std::string_view token, const std::string& where) {
  if (!std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; })) {
    throw ConfigError(where + ": the token must be visible ASCII characters only (no spaces or control characters)");
  }
}

std::string read_token_file(const std::string& path, const std::string& where) {
  std::error_code ec;
  std::ifstream in(path, std::ios::binary);
  if (!std::filesystem::is_regular_file(path, ec) || !in) {
    throw ConfigError(where + ": cannot read the token file '" + path + "'");
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) throw ConfigError(where + ": the token file '" + path + "' is empty");
  check_token(token, where + " ('" + path + "')");
  return token;
}

BearerAuth::BearerAuth(std::string token) : token_(std::move(token)) {}

AuthOutcome BearerAuth::check(const HttpRequest& request) const {
  if (open()) return AuthOutcome::kOk;
  if (request.count(http::field::authorization) != 1) return AuthOutcome::kMissing;
  const auto token = bearer_token(request[http::field::authorization]);
  if (!token) return AuthOutcome::kMissing;
  return constant_time_equal(token_, *token) ? AuthOutcome::kOk : AuthOutcome::kWrong;
}

std::string BearerAuth::header_value() const { return open() ? std::string() : "Bearer " + token_; }

HttpResponse unauthorized_response(AuthOutcome outcome) {
  auto response = error_json(http::status::unauthorized,
                             outcome == AuthOutcome::kWrong ? "wrong bearer token" : "missing bearer token");
  response.set(http::field::www_authenticate, "Bearer");
  return response;
}

void warn_if_open(const BearerAuth& auth, std::string_view what) {
  if (auth.open()) spdlog::warn("security.token is empty: {} is open to anyone who can reach it", what);
}

}  // namespace ringtrace::common
