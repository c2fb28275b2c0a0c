// Extraction pieces below the CLI: the journal, encoder loading from each
// kind of weights file, and the study reader's rows against the eval
// pipeline computed by hand. (tests/worker/extract_cli.sh runs the command.)
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <opencv2/imgcodecs.hpp>
#include <torch/torch.h>

#include "common/check.h"
#include "data/decode.h"
#include "data/transforms.h"
#include "data/window.h"
#include "models/backbones/backbone.h"
#include "models/backbones/registry.h"
#include "models/backbones/state_dict.h"
#include "storage/checkpoint/checkpoint.h"
#include "storage/checkpoint/torch_file.h"
#include "worker/extract/encoder.h"
#include "worker/extract/journal.h"
#include "worker/extract/study_reader.h"

namespace radclear::worker {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("radclear_extract_test_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// ---- journal -------------------------------------------------------------

TEST(ShardJournal, AppendsAndReadsBackDroppingATornLastLine) {
  TempDir tmp;
  const fs::path path = journal_path(tmp.path(), "abcd", 1);
  storage::FeatureShardRecord r;
  r.set_id = "abcd";
  r.study_id = "s1";
  r.file = "s1.h5";
  r.rows = 8;
  r.dim = 192;
  {
    ShardJournal j(path);
    j.append(r);
    r.study_id = "s2";
    j.append(r);
  }
  EXPECT_FALSE(journal_in_use(path)) << "its writer is gone";
  {
    ShardJournal live(journal_path(tmp.path(), "live", 0));
    EXPECT_TRUE(journal_in_use(live.path())) << "another job's ingest must leave a live journal";
  }
  EXPECT_FALSE(journal_in_use(journal_path(tmp.path(), "live", 0)));
  fs::remove(journal_path(tmp.path(), "live", 0));
  { std::ofstream(path, std::ios::app) << "{\"v\":1,\"set_id\":\"ab"; }  // killed mid-write
  const auto records = read_journal(path);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].study_id, "s1");
  EXPECT_EQ(records[1].study_id, "s2");
  EXPECT_EQ(journal_files(tmp.path(), "abcd"), std::vector<fs::path>{path});
  EXPECT_TRUE(journal_files(tmp.path(), "other").empty());

  { std::ofstream(path, std::ios::app) << "\nnot json\n{}\n"; }
  const std::string msg = error_of([&] { read_journal(path); });
  EXPECT_NE(msg.find(path.string() + ":3"), std::string::npos) << msg;
}

// ---- encoder ---------------------------------------------------------------

std::shared_ptr<models::BackboneImpl> vit_tiny(int64_t size, int64_t classes) {
  torch::manual_seed(3);
  models::BackboneOptions o;
  o.image_size = size;
  o.num_classes = classes;
  return models::make_backbone("vit_tiny", o);
}

TEST(LoadEncoder, BareStateDictNeedsArchAndDropsTheHead) {
  TempDir tmp;
  auto model = vit_tiny(32, 1000);  // a timm-style state dict with its classifier
  model->eval();
  const fs::path file = tmp.path() / "encoder.pth";
  storage::save_torch_file(file, storage::tensor_dict_to_py(models::named_state(*model)));

  const std::string msg = error_of([&] { load_encoder(file, "", 0); });
  EXPECT_NE(msg.find("--arch"), std::string::npos) << msg;

  const LoadedEncoder enc = load_encoder(file, "vit_tiny", 0);
  EXPECT_EQ(enc.arch, "vit_tiny");
  EXPECT_EQ(enc.image_size, 32);  // from the position table
  EXPECT_EQ(enc.feature_dim, 192);
  EXPECT_EQ(enc.kind, "state dict");
  EXPECT_EQ(enc.checkpoint_sha256.size(), 64u);
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({3, 3, 32, 32});
  EXPECT_TRUE(torch::allclose(enc.model->forward_features(x), model->forward_features(x), 1e-5, 1e-6));
  EXPECT_FALSE(enc.model->is_training());
}

TEST(LoadEncoder, MocoCheckpointGivesTheBaseEncoderAndItsArch) {
  TempDir tmp;
  auto model = vit_tiny(48, 0);
  model->eval();
  storage::MocoCheckpoint ckpt;
  ckpt.epoch = 7;
  ckpt.arch = "vit_tiny";
  for (const auto& item : models::named_state(*model)) {
    ckpt.state_dict.insert("base_encoder." + item.key(), item.value().clone());
    ckpt.state_dict.insert("momentum_encoder." + item.key(), torch::zeros_like(item.value()));
  }
  // MoCo's projector sits where the classifier was; extraction ignores it.
  ckpt.state_dict.insert("base_encoder.head.0.weight", torch::randn({64, 192}));
  ckpt.state_dict.insert("predictor.0.weight", torch::randn({64, 64}));
  const fs::path file = tmp.path() / "vit_tiny-moco-lecl-1-run-checkpoint_0007.pth.tar";
  storage::save_moco_checkpoint(file, ckpt);

  const LoadedEncoder enc = load_encoder(file, "", 0);
  EXPECT_EQ(enc.arch, "vit_tiny");
  EXPECT_EQ(enc.image_size, 48);
  EXPECT_EQ(enc.kind, "MoCo checkpoint (epoch 7)");
  EXPECT_TRUE(enc.windows.empty());  // Python's checkpoints record none

  // radclear records the pretraining windows: extraction's default.
  ckpt.radclear = storage::PyValue::dict();
  ckpt.radclear.set("windows", storage::PyValue::list({storage::PyValue::string("lung"),
                                                       storage::PyValue::string("1800/400")}));
  const fs::path recorded = tmp.path() / "recorded.pth.tar";
  storage::save_moco_checkpoint(recorded, ckpt);
  EXPECT_EQ(load_encoder(recorded, "", 0).windows, (std::vector<std::string>{"lung", "1800/400"}));
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 3, 48, 48});
  EXPECT_TRUE(torch::allclose(enc.model->forward_features(x), model->forward_features(x), 1e-5, 1e-6));

  const std::string wrong = error_of([&] { load_encoder(file, "mambaout_femto", 0); });
  EXPECT_NE(wrong.find("trained as 'vit_tiny'"), std::string::npos) << wrong;
  // Weights that do not fit the architecture name the keys.
  const std::string misfit = error_of([&] { load_encoder(file, "vit_tiny", 64); });
  EXPECT_NE(misfit.find("pos_embed"), std::string::npos) << misfit;
  EXPECT_NE(error_of([&] { load_encoder(tmp.path() / "none.pth", "", 0); }).find("none.pth"), std::string::npos);
}

// ---- study reader ------------------------------------------------------------

// A 16-bit DeepLesion-style PNG with a HU ramp, different per slice.
void write_ct_png(const fs::path& path, int slice) {
  cv::Mat hu(40, 56, CV_16SC1);
  for (int y = 0; y < hu.rows; ++y) {
    for (int x = 0; x < hu.cols; ++x) hu.at<int16_t>(y, x) = static_cast<int16_t>(-1000 + 37 * x + 11 * y + 50 * slice);
  }
  fs::create_directories(path.parent_path());
  ASSERT_TRUE(cv::imwrite(path.string(), data::hounsfield_to_png16(hu)));
}

torch::Tensor expected_row(const fs::path& path, const std::string& window, int size) {
  const data::DecodedImage img = data::decode_file(path.string());
  const data::WindowLut lut(data::parse_ct_window(window));
  return data::to_normalized_tensor(data::eval_transform(data::to_8bit(img, lut), size));
}

TEST(StudyChunkReader, InterleavesWindowsAndStreamsStudiesInOrder) {
  TempDir tmp;
  std::vector<ExtractStudy> studies(2);
  studies[0].study_id = "a";
  studies[1].study_id = "b";
  for (int k = 0; k < 3; ++k) {
    write_ct_png(tmp.path() / "a" / (std::to_string(k) + ".png"), k);
    studies[0].slices.push_back({"a/" + std::to_string(k) + ".png", std::to_string(k), k});
  }
  write_ct_png(tmp.path() / "b" / "9.png", 9);
  studies[1].slices.push_back({"b/9.png", "9", 9});

  StudyReaderSpec spec;
  spec.data_root = tmp.path().string();
  spec.windows = {"abdomen", "lung"};
  spec.image_size = 32;
  spec.slices_per_chunk = 2;
  spec.threads = 2;
  StudyChunkReader reader(studies, spec);
  EXPECT_EQ(reader.chunk_count(), 3);

  std::vector<StudyChunk> chunks;
  while (auto c = reader.next()) chunks.push_back(std::move(*c));
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].study, 0u);
  EXPECT_EQ(chunks[0].slices, 2);
  EXPECT_FALSE(chunks[0].last);
  EXPECT_EQ(chunks[1].first_slice, 2);
  EXPECT_TRUE(chunks[1].last);
  EXPECT_EQ(chunks[2].study, 1u);
  for (const auto& c : chunks) {
    ASSERT_TRUE(c.error.empty()) << c.error;
    EXPECT_TRUE(c.windowed);
    ASSERT_EQ(c.images.size(0), 2 * c.slices);
    for (int64_t k = 0; k < c.slices; ++k) {
      const auto& slice = studies[c.study].slices[c.first_slice + k];
      for (int w = 0; w < 2; ++w) {
        const torch::Tensor want = expected_row(tmp.path() / slice.rel_path, spec.windows[w], 32);
        EXPECT_TRUE(torch::equal(c.images[2 * k + w], want)) << slice.rel_path << " window " << w;
      }
    }
  }
}

TEST(StudyChunkReader, EightBitSlicesGiveOneRowAndBadFilesNameThePath) {
  TempDir tmp;
  cv::Mat gray(36, 36, CV_8UC1, cv::Scalar(90));
  fs::create_directories(tmp.path() / "g");
  ASSERT_TRUE(cv::imwrite((tmp.path() / "g" / "1.png").string(), gray));
  { std::ofstream(tmp.path() / "g" / "2.png") << "not a png"; }
  std::vector<ExtractStudy> studies{{"g", {{"g/1.png", "1", 1}}}, {"h", {{"g/2.png", "2", 2}}}};
  StudyReaderSpec spec;
  spec.data_root = tmp.path().string();
  spec.windows = {"abdomen", "lung"};
  spec.image_size = 32;
  StudyChunkReader reader(studies, spec);
  auto first = reader.next();
  ASSERT_TRUE(first && first->error.empty()) << (first ? first->error : "none");
  EXPECT_FALSE(first->windowed);
  EXPECT_EQ(first->rows_per_slice, 1);
  EXPECT_EQ(first->images.size(0), 1);
  auto second = reader.next();
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(second->error.find("2.png"), std::string::npos) << second->error;
  EXPECT_FALSE(reader.next().has_value());

  spec.windows = {"abdomen", "nonsense"};
  EXPECT_THROW(StudyChunkReader(studies, spec), InvalidArgument);
}

}  // namespace
}  // namespace radclear::worker
