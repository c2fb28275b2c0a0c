#pragma once
// The frozen encoder of an extraction run, from whichever weights file the
// user has: a radclear pretraining checkpoint, a Python CLEAR / MoCo v3
// checkpoint ({'arch', 'state_dict': 'module.base_encoder.*'}), or a bare
// encoder state dict (torch.save(model.state_dict()), arch given by the
// user). The MoCo projector / classification head is dropped: the encoder
// ends at forward_features (reference.md §3).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace radclear::models {
class BackboneImpl;
}

namespace radclear::worker {

struct LoadedEncoder {
  std::shared_ptr<models::BackboneImpl> model;  // eval mode, no gradients
  std::string arch;
  int64_t image_size = 224;
  int64_t feature_dim = 0;
  std::string kind;               // "moco checkpoint (epoch N)" or "state dict"
  std::string checkpoint_sha256;  // of the file
  // CT windows it was pretrained in: a radclear checkpoint's record, else
  // pretrain.yaml beside it; empty when neither says.
  std::vector<std::string> windows;
};

// `arch`: "" to take the checkpoint's; for a MoCo checkpoint a different
// name is an error. `image_size`: 0 = the pretraining run's (pretrain.yaml
// beside the checkpoint), else a ViT's position table, else 224. Throws
// NotFound / CorruptData naming the file, InvalidArgument when the arch is
// missing or the weights do not fit it (listing the keys).
LoadedEncoder load_encoder(const std::filesystem::path& checkpoint, const std::string& arch, int64_t image_size);

}  // namespace radclear::worker
