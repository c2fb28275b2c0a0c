#include "coordinator/protocol.h"

#include <gtest/gtest.h>

#include "common/check.h"
#include "coordinator/job_json.h"

namespace radclear::coordinator {
namespace {

using nlohmann::json;

DecodedMessage decode(const std::string& header, const std::string& body, size_t max = 1024) {
  return decode_message({header, body}, max);
}

TEST(Protocol, HeaderRoundTrips) {
  const std::string h = encode_header(Header{kProtocolVersion, MsgKind::kDone, 0xdeadbeef});
  ASSERT_EQ(h.size(), kHeaderBytes);
  DecodedMessage m = decode(h, R"({"job":"x"})");
  ASSERT_EQ(m.error, FrameError::kNone) << m.detail;
  EXPECT_EQ(m.header.kind, MsgKind::kDone);
  EXPECT_EQ(m.header.request_id, 0xdeadbeefu);
  EXPECT_EQ(m.body["job"], "x");
}

TEST(Protocol, RefusesWhatIsNotAWellFormedMessage) {
  const std::string good = encode_header(Header{kProtocolVersion, MsgKind::kStatus, 1});
  EXPECT_EQ(decode_message({good}, 1024).error, FrameError::kShape);
  EXPECT_EQ(decode_message({good, "{}", "{}"}, 1024).error, FrameError::kShape);
  EXPECT_EQ(decode("GET / HTTP/1.1", "{}").error, FrameError::kBadMagic);
  EXPECT_EQ(decode(good.substr(0, 11), "{}").error, FrameError::kBadMagic);
  DecodedMessage v = decode(encode_header(Header{7, MsgKind::kStatus, 1}), "{}");
  EXPECT_EQ(v.error, FrameError::kWrongVersion);
  EXPECT_NE(v.detail.find("version 7"), std::string::npos) << v.detail;
  std::string unknown = good;
  unknown[6] = 42;
  EXPECT_EQ(decode(unknown, "{}").error, FrameError::kUnknownKind);
  EXPECT_EQ(decode(good, std::string(2000, ' ')).error, FrameError::kOversized);
  EXPECT_EQ(decode(good, "{\"a\":").error, FrameError::kMalformed);
  EXPECT_EQ(decode(good, "[1,2]").error, FrameError::kMalformed);
  EXPECT_EQ(decode(good, std::string("\xff\xfe", 2)).error, FrameError::kMalformed);
}

TEST(Protocol, BodiesRoundTrip) {
  LeaseGrant g;
  g.job_id = "extract-1";
  g.stage = Stage::kExtract;
  g.epoch = 3;
  g.attempt = 2;
  g.expires_ms = 99;
  g.payload = "spec: {}\n";
  g.inputs = {InputOutputs{"pretrain-1", Stage::kPretrain, {"a.pth.tar"}}};
  const LeaseGrant back = json(g).get<LeaseGrant>();
  EXPECT_EQ(json(back), json(g));

  SweepSubmission sub;
  sub.sweep = "s";
  TrialSubmission t;
  t.id = "t000";
  t.overrides = {"pretrain.lr=1"};
  JobSubmission js;
  js.stage = Stage::kPretrain;
  js.payload = "p";
  js.min_ranks = 4;
  t.jobs = {js};
  sub.trials = {t};
  EXPECT_EQ(json(json(sub).get<SweepSubmission>()), json(sub));

  HeartbeatRequest hb{GroupInfo{"g", 2}, {Beat{"j", 1, Progress{0.5, 2, "steps", 0}}, Beat{"k", 2, std::nullopt}}};
  const auto hb2 = json(hb).get<HeartbeatRequest>();
  EXPECT_TRUE(hb2.beats[0].progress.has_value());
  EXPECT_FALSE(hb2.beats[1].progress.has_value());
  EXPECT_EQ(json(hb2), json(hb));

  json bad_stage = json(js);
  bad_stage["stage"] = "pretrian";
  EXPECT_THROW(bad_stage.get<JobSubmission>(), Error);
}

TEST(Protocol, RepliesCarryStatusCodes) {
  json result;
  EXPECT_TRUE(parse_reply(ok_reply(json{{"n", 1}}), &result).ok());
  EXPECT_EQ(result["n"], 1);
  Status s = parse_reply(error_reply(Status::FailedPrecondition("stale lease")), &result);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "stale lease");
  EXPECT_EQ(parse_reply(json::array(), &result).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace radclear::coordinator
