// The checkpoint file name, torch-free: what the trainer writes (storage's
// moco_checkpoint_file_name forwards here; tests/storage checks the same
// strings through it) and what the coordinator names as extract's input.
#include "stages/checkpoint_name.h"

#include <gtest/gtest.h>

#include "common/check.h"
#include "stages/pretrain_spec.h"

namespace radclear::stages {
namespace {

TEST(CheckpointName, FollowsClear) {
  EXPECT_EQ(moco_checkpoint_file_name("vit_small", "deeplesion", 7),
            "vit_small-moco-lecl-1-deeplesion-checkpoint_0007.pth.tar");
  EXPECT_EQ(moco_checkpoint_file_name("mambaout_femto", "x", 12345),
            "mambaout_femto-moco-lecl-1-x-checkpoint_12345.pth.tar");
  EXPECT_THROW(moco_checkpoint_file_name("", "x", 1), InvalidArgument);
  EXPECT_THROW(moco_checkpoint_file_name("vit_small", "a/b", 1), InvalidArgument);
  EXPECT_THROW(moco_checkpoint_file_name("vit_small", "x", -1), InvalidArgument);
}

TEST(CheckpointName, FinalCheckpointIsTheLastEpochs) {
  PretrainSpec p;
  p.out = "/runs/p";
  p.arch = "vit_tiny";
  p.name = "run";
  p.epochs = 3;
  EXPECT_EQ(final_checkpoint(p), "/runs/p/vit_tiny-moco-lecl-1-run-checkpoint_0003.pth.tar");
}

}  // namespace
}  // namespace radclear::stages
