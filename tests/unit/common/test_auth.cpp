// The shared token of the internal hops: the Authorization header as RFC 9110 spells it, the
// constant-time comparison, the 401, the startup warning, and security.token / token_file in the
// configuration, which never shows the secret anywhere.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <boost/json/parse.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "ringtrace/common/auth.hpp"
#include "ringtrace/common/config.hpp"
#include "ringtrace/common/service_main.hpp"

namespace ringtrace::common {
namespace {

namespace http = boost::beast::http;

constexpr const char* kSecret = "s3cret-Token_0123456789";

HttpRequest request_with(std::initializer_list<std::string> authorizations) {
  HttpRequest request{http::verb::post, "/store", 11};
  for (const auto& value : authorizations) request.insert(http::field::authorization, value);
  return request;
}

std::string temp_file(const std::string& name, const std::string& content) {
  const auto path = ::testing::TempDir() + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

/// The ConfigError `f` throws, or "" when it throws none.
template <typename F>
std::string config_error(F f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(BearerToken, SchemeIsCaseInsensitiveAndTheTokenExact) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer abc"), "abc");
  EXPECT_EQ(bearer_token("BEARER abc"), "abc");
  EXPECT_EQ(bearer_token("  Bearer   abc= \t"), "abc=");
  EXPECT_EQ(bearer_token("Bearer ABC"), "ABC") << "the token itself is case-sensitive";
}

TEST(BearerToken, OtherShapesAreNoBearerToken) {
  for (const char* value : {"", "Bearer", "Bearer ", "Bearerabc", "Basic YWxhZGRpbjpvcGVu", "Bearer a b", "Token abc",
                            "Bearer\tabc"}) {
    EXPECT_FALSE(bearer_token(value).has_value()) << "'" << value << "'";
  }
}

TEST(ConstantTimeEqual, EqualOnlyForTheSameBytes) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "Secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secre"));
  EXPECT_FALSE(constant_time_equal("secret", "secrets"));
  EXPECT_FALSE(constant_time_equal("secret", "secretsecret")) << "a repeat of the secret is not the secret";
  EXPECT_FALSE(constant_time_equal("secret", ""));
  EXPECT_FALSE(constant_time_equal("", "x"));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST(BearerAuth, OpenLetsEverythingThrough) {
  const BearerAuth open;
  EXPECT_TRUE(open.open());
  EXPECT_EQ(open.check(request_with({})), AuthOutcome::kOk);
  EXPECT_EQ(open.check(request_with({"Bearer whatever"})), AuthOutcome::kOk);
  EXPECT_EQ(open.header_value(), "");
}

TEST(BearerAuth, ChecksTheHeader) {
  const BearerAuth auth(kSecret);
  EXPECT_FALSE(auth.open());
  EXPECT_EQ(auth.header_value(), std::string("Bearer ") + kSecret);
  EXPECT_EQ(auth.check(request_with({auth.header_value()})), AuthOutcome::kOk);
  EXPECT_EQ(auth.check(request_with({std::string("bearer ") + kSecret})), AuthOutcome::kOk);
  EXPECT_EQ(auth.check(request_with({})), AuthOutcome::kMissing);
  EXPECT_EQ(auth.check(request_with({""})), AuthOutcome::kMissing);
  EXPECT_EQ(auth.check(request_with({std::string("Basic ") + kSecret})), AuthOutcome::kMissing);
  EXPECT_EQ(auth.check(request_with({"Bearer nope"})), AuthOutcome::kWrong);
  EXPECT_EQ(auth.check(request_with({std::string("Bearer ") + kSecret + "x"})), AuthOutcome::kWrong);
  EXPECT_EQ(auth.check(request_with({auth.header_value(), auth.header_value()})), AuthOutcome::kMissing)
      << "two Authorization headers are not one credential";
}

TEST(UnauthorizedResponse, SaysWhichAndAsksForBearer) {
  for (const auto& [outcome, reason] : {std::pair{AuthOutcome::kMissing, "missing bearer token"},
                                        std::pair{AuthOutcome::kWrong, "wrong bearer token"}}) {
    const auto response = unauthorized_response(outcome);
    EXPECT_EQ(response.result(), http::status::unauthorized);
    EXPECT_EQ(response[http::field::www_authenticate], "Bearer");
    EXPECT_EQ(response[http::field::content_type], "application/json");
    EXPECT_EQ(boost::json::parse(response.body()).at("error").as_string(), reason);
  }
}

TEST(WarnIfOpen, OneWarningOnlyWhenOpen) {
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>("auth-test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  warn_if_open(BearerAuth(kSecret), "POST /store");
  EXPECT_EQ(out.str(), "");
  warn_if_open(BearerAuth(), "POST /store");
  spdlog::set_default_logger(previous);
  EXPECT_NE(out.str().find("security.token is empty: POST /store is open to anyone who can reach it"),
            std::string::npos)
      << out.str();
  EXPECT_EQ(out.str().find('\n'), out.str().size() - 1) << "one line: " << out.str();
}

TEST(SecurityConfig, OpenByDefault) {
  const auto c = parse_config("", {});
  EXPECT_EQ(c.security.token, "");
  EXPECT_EQ(c.security.token_file, "");
}

TEST(SecurityConfig, TokenFromTheFileOrTheEnvironment) {
  EXPECT_EQ(parse_config(std::string("security: {token: ") + kSecret + "}", {}).security.token, kSecret);
  EXPECT_EQ(parse_config("", {{"RINGTRACE__SECURITY__TOKEN", kSecret}}).security.token, kSecret);
  EXPECT_EQ(parse_config("security: {token: old}", {{"RINGTRACE__SECURITY__TOKEN", kSecret}}).security.token, kSecret);
}

TEST(SecurityConfig, TokenFileIsReadAtLoadWithoutItsTrailingNewline) {
  const auto path = temp_file("ringtrace_token", std::string(kSecret) + "\n");
  EXPECT_EQ(parse_config("security: {token_file: " + path + "}", {}).security.token, kSecret);
  const auto c = parse_config("", {{"RINGTRACE__SECURITY__TOKEN_FILE", path}});
  EXPECT_EQ(c.security.token, kSecret);
  EXPECT_EQ(c.security.token_file, path);
  const auto crlf = temp_file("ringtrace_token_crlf", std::string(kSecret) + " \r\n\n");
  EXPECT_EQ(parse_config("", {{"RINGTRACE__SECURITY__TOKEN_FILE", crlf}}).security.token, kSecret);
}

TEST(SecurityConfig, BothKeysSetIsAnErrorNamingBoth) {
  const auto path = temp_file("ringtrace_token_both", kSecret);
  const auto error = config_error([&] {
    parse_config("security: {token_file: " + path + "}", {{"RINGTRACE__SECURITY__TOKEN", "other"}});
  });
  EXPECT_NE(error.find("security.token "), std::string::npos) << error;
  EXPECT_NE(error.find("security.token_file"), std::string::npos) << error;
}

TEST(SecurityConfig, MissingOrEmptyFileIsAnErrorNamingKeyAndPath) {
  for (const auto& path : {std::string("/nonexistent/ringtrace_token"), temp_file("ringtrace_token_empty", " \n"),
                           ::testing::TempDir()}) {
    const auto error = config_error([&] { parse_config("", {{"RINGTRACE__SECURITY__TOKEN_FILE", path}}); });
    EXPECT_NE(error.find("RINGTRACE__SECURITY__TOKEN_FILE (security.token_file)"), std::string::npos) << error;
    EXPECT_NE(error.find(path), std::string::npos) << error;
  }
}

TEST(SecurityConfig, ATokenThatCannotTravelInAHeaderIsRefusedWithoutBeingShown) {
  const std::string bad = std::string(kSecret) + " tail";
  auto error = config_error([&] { parse_config("", {{"RINGTRACE__SECURITY__TOKEN", bad}}); });
  EXPECT_NE(error.find("security.token"), std::string::npos) << error;
  EXPECT_EQ(error.find(kSecret), std::string::npos) << error;
  const auto path = temp_file("ringtrace_token_bad", bad + "\n");
  error = config_error([&] { parse_config("", {{"RINGTRACE__SECURITY__TOKEN_FILE", path}}); });
  EXPECT_NE(error.find("security.token_file"), std::string::npos) << error;
  EXPECT_EQ(error.find(kSecret), std::string::npos) << error;
}

TEST(SecurityConfig, NoDumpShowsTheToken) {
  const auto c = parse_config("", {{"RINGTRACE__SECURITY__TOKEN", kSecret}});
  for (const auto& key : config_keys()) {
    EXPECT_EQ(config_value(c, key).find(kSecret), std::string::npos) << key;
  }
  EXPECT_EQ(config_value(c, "security.token"), "(hidden)");
  EXPECT_EQ(config_value(parse_config("", {}), "security.token"), "");
}

/// Runs a service's command line as main would, with `token` in the environment; its stdout and stderr.
std::string run_command_line(std::vector<std::string> args, const std::string& token_variable, const std::string& value) {
  ::setenv(token_variable.c_str(), value.c_str(), 1);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  run_service("msX", static_cast<int>(argv.size()), argv.data(), [](const Config&) { return 0; });
  std::fflush(stdout);
  std::fflush(stderr);
  auto output = ::testing::internal::GetCapturedStdout() + ::testing::internal::GetCapturedStderr();
  ::unsetenv(token_variable.c_str());
  return output;
}

TEST(SecurityConfig, CheckConfigNeverPrintsTheToken) {
  const std::string config = RINGTRACE_SOURCE_DIR "/config/ringtrace.yaml";
  auto output = run_command_line({"msX", "--config", config, "--check-config"}, "RINGTRACE__SECURITY__TOKEN", kSecret);
  EXPECT_NE(output.find("is valid"), std::string::npos) << output;
  EXPECT_EQ(output.find(kSecret), std::string::npos) << output;
  // Refused: a space in it; the error names the key, not the value.
  output = run_command_line({"msX", "--config", config, "--check-config"}, "RINGTRACE__SECURITY__TOKEN",
                            std::string(kSecret) + " x");
  EXPECT_NE(output.find("security.token"), std::string::npos) << output;
  EXPECT_EQ(output.find(kSecret), std::string::npos) << output;
}

}  // namespace
}  // namespace ringtrace::common
