#pragma once
// Backbones by name (timm's register_model, without import-time magic): the
// built-in architectures are added by one explicit call,
// register_builtin_backbones(), whose body has one line per family file.
// Adding an architecture = one file with a register_<family>_backbones()
// function + one line there.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/backbones/backbone.h"

namespace radclear::models {

using BackboneFactory = std::function<std::shared_ptr<BackboneImpl>(const BackboneOptions&)>;

// Not thread-safe for add(); const methods may be called concurrently.
class BackboneRegistry {
 public:
  // Registers `factory` under `name` with a one-line description. A name
  // already present logs a warning and is replaced (timm's behaviour).
  void add(const std::string& name, const std::string& description, BackboneFactory factory);

  bool contains(const std::string& name) const;
  // Sorted names.
  std::vector<std::string> names() const;
  // Throws InvalidArgument for an unknown name.
  const std::string& description(const std::string& name) const;

  // Builds a freshly initialised backbone. Throws InvalidArgument for an
  // unknown name (listing the known ones, with a suggestion for a typo) or
  // invalid options.
  std::shared_ptr<BackboneImpl> create(const std::string& name, const BackboneOptions& options) const;

 private:
  struct Entry {
    std::string description;
    BackboneFactory factory;
  };
  const Entry& find(const std::string& name) const;
  std::map<std::string, Entry> entries_;
};

// The one place the built-in families are registered.
void register_builtin_backbones(BackboneRegistry& registry);

// An immutable registry holding the built-in backbones, built on first use.
const BackboneRegistry& builtin_backbones();

// builtin_backbones().create(name, options).
std::shared_ptr<BackboneImpl> make_backbone(const std::string& name,
                                            const BackboneOptions& options = {});

}  // namespace radclear::models
