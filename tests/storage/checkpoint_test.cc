// torch.save-compatible files: Python -> C++ (golden files from
// scripts/golden/checkpoint.py), C++ -> Python (/usr/bin/python3 at test
// time), C++ round trips, refused globals and corrupt files.
#include <gtest/gtest.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/check.h"
#include "stages/checkpoint_name.h"
#include "storage/checkpoint/checkpoint.h"
#include "storage/checkpoint/pickle.h"
#include "storage/checkpoint/torch_file.h"

namespace radclear::storage {
namespace {

namespace fs = std::filesystem;

fs::path golden(const std::string& name) {
  return fs::path(RADCLEAR_SOURCE_DIR) / "tests" / "golden" / "checkpoint" / name;
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("radclear_ckpt_" + std::to_string(::getpid()) + "_" +
                                                 std::to_string(counter_++))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// Runs the golden script in a mode; returns exit code and output.
std::pair<int, std::string> run_python(const std::string& args) {
  const std::string cmd = "/usr/bin/python3 " + std::string(RADCLEAR_SOURCE_DIR) +
                          "/scripts/golden/checkpoint.py " + args + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (pipe != nullptr && std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  const int rc = pipe == nullptr ? -1 : ::pclose(pipe);
  return {rc, out};
}

bool python_has_torch() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
  return ok;
}

const PyValue& at(const PyValue& d, const std::string& key) { return d.at(key); }

TEST(TorchFile, ReadsEveryValueKindPythonWrites) {
  const PyValue v = load_torch_file(golden("types.pth"));
  ASSERT_TRUE(v.is_dict());
  EXPECT_FALSE(v.is_ordered_dict());

  const PyValue& state = at(v, "state");
  EXPECT_TRUE(state.is_ordered_dict());
  std::vector<std::string> keys;
  for (const auto& k : state.keys()) keys.push_back(k.as_string());
  EXPECT_EQ(keys, (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                                            "1.running_var", "1.num_batches_tracked"}));
  EXPECT_TRUE(torch::equal(at(state, "0.weight").as_tensor(), torch::arange(6.0f).reshape({2, 3})));
  EXPECT_EQ(at(state, "1.num_batches_tracked").as_tensor().scalar_type(), torch::kLong);

  EXPECT_EQ(at(at(v, "one_dict"), "a").as_int(), 1);
  ASSERT_EQ(at(v, "one_list").size(), 1u);
  EXPECT_EQ(at(v, "one_list").items()[0].as_int(), 7);
  const auto& tup = at(v, "tuple");
  ASSERT_EQ(tup.kind(), PyValue::Kind::kTuple);
  ASSERT_EQ(tup.size(), 6u);
  EXPECT_EQ(tup.items()[0].as_int(), 1);
  EXPECT_DOUBLE_EQ(tup.items()[1].as_float(), 2.5);
  EXPECT_EQ(tup.items()[2].as_string(), "x");
  EXPECT_TRUE(tup.items()[3].is_none());
  EXPECT_TRUE(tup.items()[4].as_bool());
  EXPECT_FALSE(tup.items()[5].as_bool());

  const std::vector<int64_t> ints = {0, 255, 256, 65535, 65536, -1, -129, 2147483647LL, 2147483648LL,
                                     -2147483649LL, 1LL << 62, INT64_MIN};
  ASSERT_EQ(at(v, "ints").size(), ints.size());
  for (size_t i = 0; i < ints.size(); ++i) EXPECT_EQ(at(v, "ints").items()[i].as_int(), ints[i]) << i;
  EXPECT_DOUBLE_EQ(at(v, "float").as_float(), -1.5e-7);
  EXPECT_EQ(at(v, "str").as_string(), "l\xc3\xa9sion \xe2\x9c\x93");
  const auto& nested = at(v, "nested");
  EXPECT_EQ(nested.find(PyValue::integer(3))->as_string(), "int key");
  EXPECT_EQ(at(nested, "l").items()[0].items()[1].as_int(), 2);
  EXPECT_EQ(at(v, "many").size(), 1500u);
  EXPECT_EQ(at(at(v, "many"), "k1499").as_int(), 1499);
  EXPECT_EQ(at(v, "long_list").size(), 1200u);
  EXPECT_EQ(at(v, "long_list").items()[1199].as_int(), 1199);

  EXPECT_EQ(at(v, "t_f64").as_tensor().scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::allclose(at(v, "t_f64").as_tensor(), torch::arange(6, torch::kDouble).reshape({3, 2}) / 3));
  EXPECT_EQ(at(v, "t_f16").as_tensor().scalar_type(), torch::kHalf);
  EXPECT_EQ(at(v, "t_f16").as_tensor()[2].item<float>(), 65504.0f);
  EXPECT_EQ(at(v, "t_bf16").as_tensor().scalar_type(), torch::kBFloat16);
  EXPECT_EQ(at(v, "t_bf16").as_tensor()[1].item<float>(), -3.0f);
  EXPECT_EQ(at(v, "t_i64").as_tensor()[0].item<int64_t>(), 1LL << 40);
  EXPECT_EQ(at(v, "t_i32").as_tensor().scalar_type(), torch::kInt);
  EXPECT_EQ(at(v, "t_i32").as_tensor()[0][1].item<int>(), -2);
  EXPECT_EQ(at(v, "t_u8").as_tensor()[1].item<uint8_t>(), 200);
  EXPECT_EQ(at(v, "t_bool").as_tensor().scalar_type(), torch::kBool);
  EXPECT_FALSE(at(v, "t_bool").as_tensor()[1].item<bool>());

  const auto base = at(v, "base").as_tensor();
  const auto view_t = at(v, "view_t").as_tensor();
  const auto view_slice = at(v, "view_slice").as_tensor();
  const auto view_step = at(v, "view_step").as_tensor();
  EXPECT_TRUE(torch::equal(base, torch::arange(24.0f).reshape({4, 6})));
  EXPECT_TRUE(torch::equal(view_t, base.t()));
  EXPECT_EQ(view_t.strides(), torch::IntArrayRef({1, 6}));
  EXPECT_TRUE(torch::equal(view_slice, base.slice(0, 1, 3).slice(1, 2, 5)));
  EXPECT_EQ(view_slice.storage_offset(), 8);
  EXPECT_TRUE(torch::equal(view_step, base.slice(1, 0, 6, 2)));
  EXPECT_EQ(view_t.storage().data(), base.storage().data()) << "views must share the storage";
  EXPECT_EQ(at(v, "scalar").as_tensor().dim(), 0);
  EXPECT_EQ(at(v, "scalar").as_tensor().item<float>(), 3.25f);
  EXPECT_EQ(at(v, "empty").as_tensor().sizes(), torch::IntArrayRef({0, 5}));
}

TEST(TorchFile, CppRoundTripKeepsKindsViewsAndSharing) {
  TempDir dir;
  const PyValue v = load_torch_file(golden("types.pth"));
  const fs::path out = dir.path() / "types.pth";
  save_torch_file(out, v);
  const PyValue w = load_torch_file(out);
  ASSERT_EQ(w.size(), v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const auto& a = v.values()[i];
    const auto& b = w.values()[i];
    EXPECT_TRUE(v.keys()[i].key_equals(w.keys()[i]));
    EXPECT_EQ(a.kind(), b.kind()) << v.keys()[i].repr();
    if (a.kind() == PyValue::Kind::kTensor) {
      EXPECT_TRUE(torch::equal(a.as_tensor(), b.as_tensor())) << v.keys()[i].repr();
      EXPECT_EQ(a.as_tensor().strides(), b.as_tensor().strides()) << v.keys()[i].repr();
    }
  }
  EXPECT_EQ(at(w, "view_slice").as_tensor().storage().data(), at(w, "base").as_tensor().storage().data());
  EXPECT_TRUE(at(w, "state").is_ordered_dict());
  // Nothing but the target is left in the directory (atomic write).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(TorchFile, PythonReadsWhatCppWrites) {
  // scripts/setup.sh installs python3-torch: its absence is a broken setup, not a reason to skip.
  ASSERT_TRUE(python_has_torch()) << "/usr/bin/python3 cannot import torch; run scripts/setup.sh";
  TempDir dir;
  const fs::path out = dir.path() / "types.pth";
  save_torch_file(out, load_torch_file(golden("types.pth")));
  const auto [rc, text] = run_python("verify-types " + out.string());
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("OK types"), std::string::npos) << text;
}

TEST(TorchFile, RefusesGlobalsOtherThanTensorsAndOrderedDict) {
  try {
    load_torch_file(golden("evil.pth"));
    FAIL() << "evil.pth must be refused";
  } catch (const CorruptData& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("evil.pth"), std::string::npos) << msg;
    EXPECT_NE(msg.find("system"), std::string::npos) << msg;
    EXPECT_NE(msg.find("refusing global"), std::string::npos) << msg;
  }
}

void expect_corrupt(const fs::path& path, const std::string& fragment) {
  try {
    load_torch_file(path);
    FAIL() << path << " must not load";
  } catch (const CorruptData& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  }
}

TEST(TorchFile, CorruptOrTruncatedFilesNameTheFile) {
  TempDir dir;
  std::ifstream in(golden("moco.pth.tar"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);

  const fs::path truncated = dir.path() / "truncated.pth.tar";
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  expect_corrupt(truncated, "zip archive");

  const fs::path garbage = dir.path() / "garbage.pth.tar";
  std::ofstream(garbage, std::ios::binary) << "this is not a checkpoint at all";
  expect_corrupt(garbage, "not a PyTorch checkpoint");

  const fs::path empty = dir.path() / "empty.pth.tar";
  std::ofstream(empty, std::ios::binary).flush();
  expect_corrupt(empty, "not a PyTorch checkpoint");

  EXPECT_THROW(load_torch_file(dir.path() / "missing.pth.tar"), NotFound);
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// XORs `n` bytes of `path` from `offset` with 0xFF.
void flip_bytes(const fs::path& path, size_t offset, size_t n) {
  std::string bytes = read_bytes(path);
  ASSERT_LE(offset + n, bytes.size()) << path;
  for (size_t i = offset; i < offset + n; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0xFF);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

bool has_record(const fs::path& path, const std::string& record) {
  caffe2::serialize::PyTorchStreamReader reader(path.string());
  return reader.hasRecord(record);
}

// One 4 MiB storage: the middle of the file is inside it.
PyValue big_checkpoint() {
  PyValue d = PyValue::dict();
  d.set("epoch", PyValue::integer(3));
  d.set("w", PyValue::tensor(torch::arange(1 << 20, torch::kFloat32)));
  return d;
}

TEST(TorchFile, FlippedBytesFailTheRecordDigestNamingFileAndRecord) {
  // PyTorch's zip reader does not check CRC32: without the digest this file loads.
  TempDir dir;
  const fs::path path = dir.path() / "flipped.pth.tar";
  save_torch_file(path, big_checkpoint());
  ASSERT_TRUE(has_record(path, kTorchFileDigestRecord));
  EXPECT_TRUE(load_torch_file(path).at("w").as_tensor().equal(torch::arange(1 << 20, torch::kFloat32)));
  flip_bytes(path, fs::file_size(path) / 2, 4096);
  expect_corrupt(path, "record data/0 fails its SHA-256 check");
}

TEST(TorchFile, DamagedPickleOrDigestRecordIsReported) {
  TempDir dir;
  const fs::path pkl = dir.path() / "pkl.pth.tar";
  save_torch_file(pkl, big_checkpoint());
  size_t offset = caffe2::serialize::PyTorchStreamReader(pkl.string()).getRecordOffset("data.pkl");
  flip_bytes(pkl, offset + 2, 1);
  expect_corrupt(pkl, "record data.pkl fails its SHA-256 check");

  const fs::path digest = dir.path() / "digest.pth.tar";
  save_torch_file(digest, big_checkpoint());
  offset = caffe2::serialize::PyTorchStreamReader(digest.string()).getRecordOffset(kTorchFileDigestRecord);
  flip_bytes(digest, offset, 1);
  expect_corrupt(digest, std::string("record ") + kTorchFileDigestRecord + " is damaged");
}

TEST(TorchFile, PythonFilesWithoutDigestLoadAndAreCheckedByZipCrc32) {
  // scripts/golden/checkpoint.py wrote these with torch.save: no digest record.
  for (const char* name : {"moco.pth.tar", "types.pth", "moco_io.pth"}) {
    EXPECT_FALSE(has_record(golden(name), kTorchFileDigestRecord)) << name;
    EXPECT_NO_THROW(load_torch_file(golden(name))) << name;
  }
  // 64 bytes flipped in the middle of its 4 KiB storage record: the zip's CRC32 catches it.
  TempDir dir;
  const fs::path path = dir.path() / "python.pth.tar";
  fs::copy_file(golden("moco.pth.tar"), path);
  std::string record;
  size_t offset = 0;
  {
    caffe2::serialize::PyTorchStreamReader reader(path.string());
    for (const auto& r : reader.getAllRecords()) {
      if (r.rfind("data/", 0) == 0 && std::get<1>(reader.getRecord(r)) == 4096) record = r;
    }
    ASSERT_FALSE(record.empty());
    offset = reader.getRecordOffset(record);
  }
  flip_bytes(path, offset + 2048, 64);
  expect_corrupt(path, "record " + record + " fails the zip's CRC32 check");
}

TEST(Pickle, TruncatedOrUnknownOpcodesAreErrors) {
  std::vector<StorageRecord> storages;
  PyValue d = PyValue::dict();
  d.set("a", PyValue::list({PyValue::integer(-70000), PyValue::real(0.25), PyValue::string("s")}));
  const std::string pkl = pickle(d, &storages);
  auto no_storage = [](const std::string&, at::ScalarType, int64_t) -> at::Tensor {
    throw std::logic_error("no storage expected");
  };
  const PyValue back = unpickle(pkl, no_storage, "mem");
  EXPECT_EQ(back.at("a").items()[0].as_int(), -70000);
  EXPECT_DOUBLE_EQ(back.at("a").items()[1].as_float(), 0.25);
  for (size_t cut : {size_t{1}, size_t{5}, pkl.size() - 1}) {
    try {
      unpickle(std::string_view(pkl).substr(0, cut), no_storage, "mem.pkl");
      FAIL() << "cut at " << cut;
    } catch (const CorruptData& e) {
      EXPECT_NE(std::string(e.what()).find("mem.pkl"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(unpickle(std::string("\x80\x02\xff", 3), no_storage, "mem"), CorruptData);
}

// The name format itself is tested in tests/stages/checkpoint_name_test.cc
// (CheckpointName.FollowsClear); storage only forwards to it.
TEST(Checkpoint, FileNameIsTheStagesOne) {
  EXPECT_EQ(moco_checkpoint_file_name("vit_small", "deeplesion", 7),
            stages::moco_checkpoint_file_name("vit_small", "deeplesion", 7));
  EXPECT_THROW(moco_checkpoint_file_name("vit_small", "a/b", 1), InvalidArgument);
}

TEST(Checkpoint, ReadsPythonMocoCheckpoint) {
  const MocoCheckpoint c = load_moco_checkpoint(golden("moco.pth.tar"));
  EXPECT_EQ(c.epoch, 3);
  EXPECT_EQ(c.arch, "tiny_vit");
  EXPECT_TRUE(c.state_dict.contains("base_encoder.head.0.weight"));
  EXPECT_TRUE(c.state_dict.contains("momentum_encoder.head.7.running_var"));
  EXPECT_TRUE(c.state_dict.contains("predictor.3.weight"));
  EXPECT_FALSE(c.state_dict.contains("module.predictor.3.weight"));
  EXPECT_TRUE(c.scaler.is_none());
  const auto& groups = c.optimizer.at("param_groups");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_DOUBLE_EQ(groups.items()[0].at("lr").as_float(), 1e-2);
  EXPECT_EQ(groups.items()[0].at("betas").kind(), PyValue::Kind::kTuple);
  const auto& state = c.optimizer.at("state");
  ASSERT_GT(state.size(), 0u);
  EXPECT_EQ(state.keys()[0].kind(), PyValue::Kind::kInt);
  EXPECT_TRUE(state.values()[0].at("exp_avg").as_tensor().defined());

  const TensorDict bare = load_state_dict_file(golden("moco.pth.tar"));
  EXPECT_EQ(bare.size(), c.state_dict.size());
  const TensorDict encoder = select_prefix(bare, "base_encoder.", {"head."});
  EXPECT_EQ(encoder.keys(), (std::vector<std::string>{"stem.weight", "stem.bias"}));
}

TEST(Checkpoint, WritesPythonLayoutAndReadsItBack) {
  TempDir dir;
  MocoCheckpoint c = load_moco_checkpoint(golden("moco.pth.tar"));
  c.epoch = 4;
  c.radclear = PyValue::dict();
  c.radclear.set("global_step", PyValue::integer(12));
  const fs::path path = dir.path() / moco_checkpoint_file_name(c.arch, "unit", c.epoch);
  save_moco_checkpoint(path, c);
  const PyValue raw = load_torch_file(path);
  EXPECT_TRUE(raw.at("state_dict").is_ordered_dict());
  EXPECT_EQ(raw.at("state_dict").keys()[0].as_string().rfind("module.", 0), 0u);
  const MocoCheckpoint back = load_moco_checkpoint(path);
  EXPECT_EQ(back.epoch, 4);
  EXPECT_EQ(back.radclear.at("global_step").as_int(), 12);
  ASSERT_EQ(back.state_dict.size(), c.state_dict.size());
  for (const auto& item : c.state_dict) {
    EXPECT_TRUE(torch::equal(back.state_dict[item.key()], item.value())) << item.key();
  }
  const PyValue not_a_checkpoint = PyValue::list({PyValue::integer(1)});
  const fs::path list_file = dir.path() / "list.pth";
  save_torch_file(list_file, not_a_checkpoint);
  try {
    load_moco_checkpoint(list_file);
    FAIL();
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("list.pth"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, BareStateDictFilesLoadWithOrWithoutDdpPrefix) {
  TempDir dir;
  TensorDict sd;
  sd.insert("stem.weight", torch::ones({2, 3}));
  sd.insert("head.bias", torch::zeros({4}));
  save_torch_file(dir.path() / "ddp.pth", tensor_dict_to_py(sd, "module."));
  save_torch_file(dir.path() / "plain.pth", tensor_dict_to_py(sd));
  for (const char* name : {"ddp.pth", "plain.pth"}) {
    const TensorDict got = load_state_dict_file(dir.path() / name);
    EXPECT_EQ(got.keys(), sd.keys()) << name;
    EXPECT_TRUE(torch::equal(got["stem.weight"], sd["stem.weight"])) << name;
  }
  // Mixed prefixes are left alone.
  PyValue mixed = tensor_dict_to_py(sd, "module.");
  mixed.set("other", PyValue::tensor(torch::ones({1})));
  save_torch_file(dir.path() / "mixed.pth", mixed);
  EXPECT_TRUE(load_state_dict_file(dir.path() / "mixed.pth").contains("module.stem.weight"));
  // Not a dict of tensors: the error names the file and the entry.
  PyValue bad = PyValue::dict();
  bad.set("epoch", PyValue::integer(3));
  save_torch_file(dir.path() / "bad.pth", bad);
  try {
    load_state_dict_file(dir.path() / "bad.pth");
    FAIL();
  } catch (const CorruptData& e) {
    EXPECT_NE(std::string(e.what()).find("bad.pth"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'epoch'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace radclear::storage
