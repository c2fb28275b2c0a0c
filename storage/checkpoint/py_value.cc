#include "storage/checkpoint/py_value.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/check.h"

namespace radclear::storage {

PyValue PyValue::boolean(bool v) {
  PyValue p;
  p.kind_ = Kind::kBool;
  p.b_ = v;
  return p;
}
PyValue PyValue::integer(int64_t v) {
  PyValue p;
  p.kind_ = Kind::kInt;
  p.i_ = v;
  return p;
}
PyValue PyValue::real(double v) {
  PyValue p;
  p.kind_ = Kind::kFloat;
  p.f_ = v;
  return p;
}
PyValue PyValue::string(std::string v) {
  PyValue p;
  p.kind_ = Kind::kString;
  p.s_ = std::move(v);
  return p;
}
PyValue PyValue::tensor(at::Tensor v) {
  PyValue p;
  p.kind_ = Kind::kTensor;
  p.t_ = std::move(v);
  return p;
}
PyValue PyValue::tuple(std::vector<PyValue> items) {
  PyValue p;
  p.kind_ = Kind::kTuple;
  p.items_ = std::move(items);
  return p;
}
PyValue PyValue::list(std::vector<PyValue> items) {
  PyValue p;
  p.kind_ = Kind::kList;
  p.items_ = std::move(items);
  return p;
}
PyValue PyValue::dict(bool ordered) {
  PyValue p;
  p.kind_ = Kind::kDict;
  p.ordered_ = ordered;
  return p;
}
PyValue PyValue::global(std::string qualified_name) {
  PyValue p;
  p.kind_ = Kind::kGlobal;
  p.s_ = std::move(qualified_name);
  return p;
}

const char* PyValue::kind_name(Kind kind) {
  switch (kind) {
    case Kind::kNone: return "None";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kTuple: return "tuple";
    case Kind::kList: return "list";
    case Kind::kDict: return "dict";
    case Kind::kTensor: return "tensor";
    case Kind::kGlobal: return "global";
  }
  return "?";
}

void PyValue::require(Kind kind, const char* what) const {
  if (kind_ != kind) {
    throw InvalidArgument(fmt::format("expected a Python {} for {}, found {} {}", kind_name(kind), what,
                                      kind_name(), repr()));
  }
}

bool PyValue::as_bool() const {
  require(Kind::kBool, "as_bool");
  return b_;
}
int64_t PyValue::as_int() const {
  if (kind_ == Kind::kBool) return b_ ? 1 : 0;
  require(Kind::kInt, "as_int");
  return i_;
}
double PyValue::as_float() const {
  if (kind_ == Kind::kInt) return static_cast<double>(i_);
  require(Kind::kFloat, "as_float");
  return f_;
}
const std::string& PyValue::as_string() const {
  if (kind_ == Kind::kGlobal) return s_;
  require(Kind::kString, "as_string");
  return s_;
}
const at::Tensor& PyValue::as_tensor() const {
  require(Kind::kTensor, "as_tensor");
  return t_;
}
const std::vector<PyValue>& PyValue::items() const {
  if (kind_ != Kind::kTuple) require(Kind::kList, "items");
  return items_;
}
std::vector<PyValue>& PyValue::mutable_items() {
  if (kind_ != Kind::kTuple) require(Kind::kList, "mutable_items");
  return items_;
}
void PyValue::append(PyValue item) {
  require(Kind::kList, "append");
  items_.push_back(std::move(item));
}

void PyValue::set(PyValue key, PyValue value) {
  require(Kind::kDict, "set");
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i].key_equals(key)) {
      items_[i] = std::move(value);
      return;
    }
  }
  keys_.push_back(std::move(key));
  items_.push_back(std::move(value));
}

const PyValue* PyValue::find(const PyValue& key) const {
  require(Kind::kDict, "find");
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i].key_equals(key)) return &items_[i];
  }
  return nullptr;
}

const PyValue* PyValue::find(const std::string& key) const {
  require(Kind::kDict, "find");
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i].kind_ == Kind::kString && keys_[i].s_ == key) return &items_[i];
  }
  return nullptr;
}

const PyValue& PyValue::at(const std::string& key) const {
  if (const PyValue* v = find(key)) return *v;
  std::vector<std::string> names;
  for (const auto& k : keys_) names.push_back(k.repr());
  throw NotFound(fmt::format("key '{}' not in dict (keys: {})", key, fmt::join(names, ", ")));
}

const std::vector<PyValue>& PyValue::keys() const {
  require(Kind::kDict, "keys");
  return keys_;
}
const std::vector<PyValue>& PyValue::values() const {
  require(Kind::kDict, "values");
  return items_;
}
size_t PyValue::size() const {
  if (kind_ == Kind::kDict || kind_ == Kind::kTuple || kind_ == Kind::kList) return items_.size();
  throw InvalidArgument(fmt::format("a Python {} has no size", kind_name()));
}

bool PyValue::key_equals(const PyValue& o) const {
  const bool numeric = kind_ == Kind::kBool || kind_ == Kind::kInt || kind_ == Kind::kFloat;
  const bool o_numeric = o.kind_ == Kind::kBool || o.kind_ == Kind::kInt || o.kind_ == Kind::kFloat;
  if (numeric && o_numeric) {
    if (kind_ == Kind::kFloat || o.kind_ == Kind::kFloat) return as_float() == o.as_float();
    return as_int() == o.as_int();
  }
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kNone: return true;
    case Kind::kString:
    case Kind::kGlobal: return s_ == o.s_;
    case Kind::kTensor: return t_.unsafeGetTensorImpl() == o.t_.unsafeGetTensorImpl();
    case Kind::kTuple:
    case Kind::kList:
      if (items_.size() != o.items_.size()) return false;
      for (size_t i = 0; i < items_.size(); ++i) {
        if (!items_[i].key_equals(o.items_[i])) return false;
      }
      return true;
    default: return this == &o;
  }
}

std::string PyValue::repr() const {
  switch (kind_) {
    case Kind::kNone: return "None";
    case Kind::kBool: return b_ ? "True" : "False";
    case Kind::kInt: return std::to_string(i_);
    case Kind::kFloat: return fmt::format("{}", f_);
    case Kind::kString: return "'" + s_ + "'";
    case Kind::kGlobal: return "<global " + s_ + ">";
    case Kind::kTensor:
      return t_.defined() ? fmt::format("tensor[{}] {}", fmt::join(t_.sizes(), ", "), c10::toString(t_.scalar_type()))
                          : "tensor(undefined)";
    case Kind::kTuple: return fmt::format("tuple of {}", items_.size());
    case Kind::kList: return fmt::format("list of {}", items_.size());
    case Kind::kDict: return fmt::format("{} of {}", ordered_ ? "OrderedDict" : "dict", items_.size());
  }
  return "?";
}

}  // namespace radclear::storage
