#include "models/backbones/registry.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/check.h"
#include "models/backbones/mambaout.h"
#include "models/backbones/resnet.h"
#include "models/backbones/swin.h"
#include "models/backbones/vit.h"
#include "models/backbones/vmamba.h"

namespace radclear::models {
namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

void BackboneRegistry::add(const std::string& name, const std::string& description,
                           BackboneFactory factory) {
  RADCLEAR_CHECK(static_cast<bool>(factory), "backbone '{}' registered without a factory", name);
  if (entries_.count(name) != 0) {
    spdlog::warn("backbone '{}' registered twice; the later registration replaces the earlier", name);
  }
  entries_[name] = Entry{description, std::move(factory)};
}

bool BackboneRegistry::contains(const std::string& name) const { return entries_.count(name) != 0; }

std::vector<std::string> BackboneRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& kv : entries_) out.push_back(kv.first);
  return out;
}

const BackboneRegistry::Entry& BackboneRegistry::find(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it != entries_.end()) return it->second;
  std::string suggestion;
  size_t best = std::max<size_t>(3, name.size() / 3) + 1;
  for (const auto& kv : entries_) {
    const size_t d = edit_distance(name, kv.first);
    if (d < best) {
      best = d;
      suggestion = kv.first;
    }
  }
  throw InvalidArgument(fmt::format("unknown backbone '{}'{}; known backbones: {}", name,
                                    suggestion.empty() ? "" : fmt::format(" (did you mean '{}'?)", suggestion),
                                    fmt::join(names(), ", ")));
}

const std::string& BackboneRegistry::description(const std::string& name) const {
  return find(name).description;
}

std::shared_ptr<BackboneImpl> BackboneRegistry::create(const std::string& name,
                                                       const BackboneOptions& options) const {
  const Entry& entry = find(name);
  if (options.num_classes < 0) {
    throw InvalidArgument(fmt::format("backbone '{}': num_classes must be >= 0, got {}", name,
                                      options.num_classes));
  }
  return entry.factory(options);
}

void register_builtin_backbones(BackboneRegistry& registry) {
  register_vit_backbones(registry);
  register_mambaout_backbones(registry);
  register_resnet_backbones(registry);
  register_swin_backbones(registry);
  register_vmamba_backbones(registry);
}

const BackboneRegistry& builtin_backbones() {
  static const BackboneRegistry registry = [] {
    BackboneRegistry r;
    register_builtin_backbones(r);
    return r;
  }();
  return registry;
}

std::shared_ptr<BackboneImpl> make_backbone(const std::string& name, const BackboneOptions& options) {
  return builtin_backbones().create(name, options);
}

}  // namespace radclear::models
