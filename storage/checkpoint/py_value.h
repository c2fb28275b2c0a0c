#pragma once
// PyValue: the Python object subset that torch.save checkpoints contain
// (None, bool, int, float, str, tuple, list, dict / OrderedDict, tensors),
// as a plain C++ value tree. It is what the unpickler returns and what the
// pickler writes; nothing here can name or run arbitrary Python code.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace radclear::storage {

class PyValue {
 public:
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kTensor, kGlobal };

  PyValue() = default;  // None
  static PyValue none() { return PyValue(); }
  static PyValue boolean(bool v);
  static PyValue integer(int64_t v);
  static PyValue real(double v);
  static PyValue string(std::string v);
  static PyValue tensor(at::Tensor v);
  static PyValue tuple(std::vector<PyValue> items = {});
  static PyValue list(std::vector<PyValue> items = {});
  // A dict; `ordered` = collections.OrderedDict (what state_dict() returns).
  static PyValue dict(bool ordered = false);
  // A reference to an allowed global ("torch.FloatStorage"); only the
  // unpickler makes these, for storage types inside persistent ids.
  static PyValue global(std::string qualified_name);

  Kind kind() const { return kind_; }
  static const char* kind_name(Kind kind);
  const char* kind_name() const { return kind_name(kind_); }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_ordered_dict() const { return kind_ == Kind::kDict && ordered_; }

  // Typed access; a wrong kind throws InvalidArgument naming both kinds.
  bool as_bool() const;
  int64_t as_int() const;        // int or bool
  double as_float() const;       // float or int
  const std::string& as_string() const;  // str or global name
  const at::Tensor& as_tensor() const;
  // Items of a tuple or list.
  const std::vector<PyValue>& items() const;
  std::vector<PyValue>& mutable_items();
  void append(PyValue item);  // list only

  // Dict access (insertion order kept). set() replaces the value of an equal
  // key (Python equality on None/bool/int/float/str/tuple keys).
  void set(PyValue key, PyValue value);
  void set(const std::string& key, PyValue value) { set(string(key), std::move(value)); }
  const PyValue* find(const PyValue& key) const;
  const PyValue* find(const std::string& key) const;
  // Throws NotFound listing the keys present.
  const PyValue& at(const std::string& key) const;
  const std::vector<PyValue>& keys() const;
  const std::vector<PyValue>& values() const;
  size_t size() const;  // items of a tuple/list, entries of a dict

  // Python-style equality of keys / scalars (tensors compare by identity).
  bool key_equals(const PyValue& other) const;
  // Short human-readable form ("'epoch'", "3", "tensor[3, 4] Float").
  std::string repr() const;

 private:
  void require(Kind kind, const char* what) const;
  Kind kind_ = Kind::kNone;
  bool ordered_ = false;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0.0;
  std::string s_;
  at::Tensor t_;
  std::vector<PyValue> items_;  // tuple/list items, dict values
  std::vector<PyValue> keys_;   // dict keys
};

}  // namespace radclear::storage
