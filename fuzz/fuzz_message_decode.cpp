// The message codec under libFuzzer. Every input is decoded under both namings, with and without
// the WebSocket frame's traceparent, because MS1 (POST /store), MS2 (frames) and MS3 (Kafka) all
// decode bytes they did not make. Beyond not crashing, whatever decodes must survive
// encode → decode unchanged, and the four ways of decoding the same bytes must agree.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "ringtrace/common/message.hpp"

namespace {

using ringtrace::common::decode;
using ringtrace::common::DecodeResult;
using ringtrace::common::encode;
using ringtrace::common::Message;
using ringtrace::common::Naming;

/// Aborts so that libFuzzer keeps the input as a crash; the text names the property that broke.
void check(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "fuzz_message_decode: property violated: %s\n", property);
  std::abort();
}

Naming other(Naming naming) { return naming == Naming::kService ? Naming::kMc : Naming::kService; }

/// encode() writes the traceparent unescaped: it promises to hold only hex and dashes.
bool encodable(std::string_view traceparent) {
  for (const char c : traceparent) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != '-') return false;
  }
  return true;
}

void check_round_trip(const Message& message, Naming naming, const std::string* traceparent) {
  check(message.id >= 1 && message.session_id >= 1, "a decoded message has id and session_id >= 1");

  const std::string json = encode(message, naming);
  const DecodeResult again = decode(json, naming);
  check(static_cast<bool>(again), "encode(m) decodes");
  check(again.error.empty(), "a decoded message has no error");
  check(*again.message == message, "decode(encode(m)) == m");
  check(encode(*again.message, naming) == json, "encode is canonical: encode(decode(encode(m))) == encode(m)");
  // encode writes every key, null stamps included, so the other naming must always refuse it.
  check(!decode(json, other(naming)), "encode(m) under one naming is rejected under the other");

  if (traceparent == nullptr || !encodable(*traceparent)) return;
  const std::string frame = encode(message, naming, *traceparent);
  std::string carried;
  const DecodeResult from_frame = decode(frame, naming, &carried);
  check(static_cast<bool>(from_frame), "encode(m, traceparent) decodes");
  check(*from_frame.message == message, "decode(encode(m, traceparent)) == m");
  check(carried == *traceparent, "decode(encode(m, traceparent)) gives the traceparent back");
}

/// Runs every check on `input` under `naming`; the message decoded with the frame decoder, if any.
std::optional<Message> fuzz_naming(std::string_view input, Naming naming) {
  const DecodeResult plain = decode(input, naming);
  check(static_cast<bool>(plain) == plain.error.empty(), "a reason is given exactly when decoding fails");

  // decode leaves the out-parameter alone when the key is absent: two different starting values
  // tell "absent" from "present", whatever string the input carries.
  std::string traceparent_a = "a";
  std::string traceparent_b = "b";
  const DecodeResult frame_a = decode(input, naming, &traceparent_a);
  const DecodeResult frame_b = decode(input, naming, &traceparent_b);
  check(static_cast<bool>(frame_a) == frame_a.error.empty(), "a reason is given exactly when decoding fails");
  check(frame_a.message == frame_b.message && frame_a.error == frame_b.error,
        "decoding does not depend on the out-parameter's previous value");
  const bool has_traceparent = frame_a && traceparent_a == traceparent_b;

  // Without the out-parameter a traceparent key is unknown; otherwise the two decoders agree.
  check(static_cast<bool>(plain) == (frame_a && !has_traceparent),
        "decode without traceparent succeeds iff decode with it succeeds and finds none");
  if (plain) check(*plain.message == *frame_a.message, "both decoders give the same message");

  if (plain) check_round_trip(*plain.message, naming, nullptr);
  if (frame_a) check_round_trip(*frame_a.message, naming, has_traceparent ? &traceparent_a : nullptr);
  return frame_a.message;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::optional<Message> service = fuzz_naming(input, Naming::kService);
  const std::optional<Message> mc = fuzz_naming(input, Naming::kMc);

  // Only end_timestamp is spelt the same in both namings, so bytes both accept cannot carry
  // any of the first three stamps, and must mean the same message.
  if (service && mc) {
    check(*service == *mc, "bytes valid under both namings decode to the same message");
    check(!service->stamps[0] && !service->stamps[1] && !service->stamps[2],
          "bytes valid under both namings carry no naming-specific stamp");
  }
  return 0;
}
