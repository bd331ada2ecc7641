#include "ringtrace/ms3/response_classifier.hpp"

#include <gtest/gtest.h>

namespace ringtrace::ms3 {
namespace {

TEST(ResponseClassifier, SuccessCommits) {
  for (unsigned status : {200u, 201u, 202u, 204u, 299u}) {
    EXPECT_EQ(classify_response(status), ResponseAction::kCommit) << status;
  }
}

TEST(ResponseClassifier, ClientErrorsArePermanent) {
  for (unsigned status : {400u, 403u, 404u, 409u, 413u, 415u, 422u, 499u}) {
    EXPECT_EQ(classify_response(status), ResponseAction::kReject) << status;
  }
}

TEST(ResponseClassifier, TimeoutAndTooManyRequestsAreRetried) {
  EXPECT_EQ(classify_response(408), ResponseAction::kRetry);
  EXPECT_EQ(classify_response(429), ResponseAction::kRetry);
}

// A 401 means MS3's token is not MS1's: every record would be refused alike, so none is dropped.
TEST(ResponseClassifier, UnauthorizedIsRetriedUntilTheTokensAgree) {
  EXPECT_EQ(classify_response(401), ResponseAction::kRetry);
}

TEST(ResponseClassifier, ServerErrorsAreRetried) {
  for (unsigned status : {500u, 502u, 503u, 504u, 599u}) {
    EXPECT_EQ(classify_response(status), ResponseAction::kRetry) << status;
  }
}

TEST(ResponseClassifier, UnexpectedStatusesAreRetriedNotDropped) {
  for (unsigned status : {0u, 100u, 199u, 300u, 301u, 304u, 600u}) {
    EXPECT_EQ(classify_response(status), ResponseAction::kRetry) << status;
  }
}

TEST(ResponseClassifier, ActionsHaveNames) {
  EXPECT_EQ(to_string(ResponseAction::kCommit), "commit");
  EXPECT_EQ(to_string(ResponseAction::kReject), "reject");
  EXPECT_EQ(to_string(ResponseAction::kRetry), "retry");
}

}  // namespace
}  // namespace ringtrace::ms3
