#include "worker/extract/spec.h"

#include "common/check.h"
#include "common/yaml_fields.h"
#include "data/window.h"

namespace radclear::worker {

void ExtractSpec::validate() const {
  auto need = [](bool ok, const std::string& msg) {
    if (!ok) throw InvalidArgument("extract: " + msg);
  };
  need(!db.empty(), "--db is required (build it with `radclear index`)");
  need(!data.empty(), "--data is required (the data root the index was built from)");
  need(!checkpoint.empty(), "--checkpoint is required");
  need(!out.empty(), "--out is required");
  for (const auto& w : windows) data::parse_ct_window(w);  // throws with the known names
  for (size_t i = 0; i < windows.size(); ++i) {
    for (size_t j = 0; j < i; ++j) need(windows[i] != windows[j], fmt::format("window '{}' is listed twice", windows[i]));
  }
  for (const auto& s : splits) {
    need(s == "train" || s == "val" || s == "test" || s == "unknown",
         fmt::format("split '{}' is not one of train, val, test, unknown", s));
  }
  need(batch_size > 0, fmt::format("batch_size must be > 0 (got {})", batch_size));
  need(dtype == "float32" || dtype == "float16", fmt::format("dtype '{}' is not one of float32, float16", dtype));
  need(image_size == 0 || image_size >= 32, fmt::format("image_size must be 0 (auto) or >= 32 (got {})", image_size));
  need(workers >= 0, "workers must be >= 0");
}

YAML::Node ExtractSpec::to_yaml() const {
  YAML::Node n;
  n["db"] = db.string();
  n["data"] = data.string();
  n["checkpoint"] = checkpoint.string();
  n["out"] = out.string();
  n["arch"] = arch;
  n["windows"] = windows;
  n["splits"] = splits;
  n["batch_size"] = batch_size;
  n["dtype"] = dtype;
  n["image_size"] = image_size;
  n["force"] = force;
  n["workers"] = workers;
  n["strict"] = strict;
  return n;
}

void ExtractSpec::merge_yaml(const YAML::Node& node, const std::string& ctx) {
  check_known_keys(node,
                   {"db", "data", "checkpoint", "out", "arch", "windows", "splits", "batch_size", "dtype",
                    "image_size", "force", "workers", "strict"},
                   ctx);
  read_path(node, "db", db, ctx);
  read_path(node, "data", data, ctx);
  read_path(node, "checkpoint", checkpoint, ctx);
  read_path(node, "out", out, ctx);
  read_field(node, "arch", arch, ctx);
  read_field(node, "windows", windows, ctx);
  read_field(node, "splits", splits, ctx);
  read_field(node, "batch_size", batch_size, ctx);
  read_field(node, "dtype", dtype, ctx);
  read_field(node, "image_size", image_size, ctx);
  read_field(node, "force", force, ctx);
  read_field(node, "workers", workers, ctx);
  read_field(node, "strict", strict, ctx);
}

}  // namespace radclear::worker
