#include "storage/checkpoint/pickle.h"

#include <ATen/ATen.h>

#include <cstring>
#include <map>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/check.h"

namespace radclear::storage {
namespace {

const std::map<std::string, at::ScalarType>& storage_types() {
  static const std::map<std::string, at::ScalarType> table = {
      {"torch.FloatStorage", at::kFloat},   {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},     {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},     {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},     {"torch.BoolStorage", at::kBool},
  };
  return table;
}

constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensorV2 = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";

bool allowed_global(const std::string& name) {
  return name == kOrderedDict || name == kRebuildTensorV2 || name == kRebuildParameter ||
         storage_types().count(name) > 0;
}

// ---------------------------------------------------------------- reading

class Unpickler {
 public:
  Unpickler(std::string_view data, const StorageLoader& loader, const std::string& what)
      : data_(data), loader_(loader), what_(what) {}

  PyValue run() {
    while (true) {
      op_pos_ = pos_;
      const uint8_t op = byte();
      switch (op) {
        case 0x80: {  // PROTO
          const int proto = byte();
          if (proto < 2 || proto > 5) fail(fmt::format("unsupported pickle protocol {}", proto));
          break;
        }
        case 0x95: take(8); break;  // FRAME: framing is transparent here
        case '.': {                 // STOP
          if (stack_.size() != 1 || !marks_.empty()) fail("STOP with an unbalanced stack");
          return *stack_.back();
        }
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case 'N': push(PyValue::none()); break;
        case 0x88: push(PyValue::boolean(true)); break;
        case 0x89: push(PyValue::boolean(false)); break;
        case 'K': push(PyValue::integer(byte())); break;
        case 'M': push(PyValue::integer(static_cast<int64_t>(uint_le(2)))); break;
        case 'J': push(PyValue::integer(static_cast<int32_t>(uint_le(4)))); break;
        case 0x8a: push(PyValue::integer(long_le(byte()))); break;                  // LONG1
        case 0x8b: push(PyValue::integer(long_le(static_cast<size_t>(uint_le(4))))); break;  // LONG4
        case 'G': {  // BINFLOAT, big-endian
          const char* p = take(8);
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<uint8_t>(p[i]);
          double v;
          std::memcpy(&v, &bits, 8);
          push(PyValue::real(v));
          break;
        }
        case 'X': push(PyValue::string(str(uint_le(4)))); break;     // BINUNICODE
        case 0x8c: push(PyValue::string(str(byte()))); break;        // SHORT_BINUNICODE
        case 0x8d: push(PyValue::string(str(uint_le(8)))); break;    // BINUNICODE8
        case 'T': push(PyValue::string(str(uint_le(4)))); break;     // BINSTRING
        case 'U': push(PyValue::string(str(byte()))); break;         // SHORT_BINSTRING
        case ')': push(PyValue::tuple()); break;
        case ']': push(PyValue::list()); break;
        case '}': push(PyValue::dict()); break;
        case 0x85: push(PyValue::tuple(pop_n(1))); break;
        case 0x86: push(PyValue::tuple(pop_n(2))); break;
        case 0x87: push(PyValue::tuple(pop_n(3))); break;
        case 't': push(PyValue::tuple(pop_mark())); break;
        case 'l': push(PyValue::list(pop_mark())); break;
        case 'd': {
          auto items = pop_mark();
          auto d = PyValue::dict();
          set_items(d, items);
          push(std::move(d));
          break;
        }
        case 'a': {  // APPEND
          auto item = pop();
          top(PyValue::Kind::kList, "APPEND").append(std::move(item));
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_mark();
          auto& list = top(PyValue::Kind::kList, "APPENDS");
          for (auto& item : items) list.append(std::move(item));
          break;
        }
        case 's': {  // SETITEM
          auto value = pop();
          auto key = pop();
          top(PyValue::Kind::kDict, "SETITEM").set(std::move(key), std::move(value));
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_mark();
          set_items(top(PyValue::Kind::kDict, "SETITEMS"), items);
          break;
        }
        case 'q': memo_put(byte()); break;                 // BINPUT
        case 'r': memo_put(uint_le(4)); break;             // LONG_BINPUT
        case 0x94: memo_put(memo_.size()); break;          // MEMOIZE
        case 'h': memo_get(byte()); break;                 // BINGET
        case 'j': memo_get(uint_le(4)); break;             // LONG_BINGET
        case '0': pop(); break;                            // POP
        case '1': pop_mark(); break;                       // POP_MARK
        case '2':                                          // DUP
          if (stack_.empty()) fail("DUP on an empty stack");
          stack_.push_back(stack_.back());
          break;
        case 'c': {  // GLOBAL
          const std::string module = line();
          const std::string name = line();
          push(resolve_global(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop();
          auto module = pop();
          if (name.kind() != PyValue::Kind::kString || module.kind() != PyValue::Kind::kString) {
            fail("STACK_GLOBAL needs two strings");
          }
          push(resolve_global(module.as_string(), name.as_string()));
          break;
        }
        case 'R': {  // REDUCE
          auto args = pop();
          auto callable = pop();
          push(reduce(callable, args));
          break;
        }
        case 'b': {  // BUILD
          auto state = pop();
          auto& obj = *top_ptr();
          if (!obj.is_dict()) {
            fail(fmt::format("BUILD (setting object state) on a {} is not supported", obj.kind_name()));
          }
          // An OrderedDict's __dict__ (state_dict()'s _metadata): not needed.
          break;
        }
        case 'Q': {  // BINPERSID
          push(persistent_load(pop()));
          break;
        }
        default:
          fail(fmt::format("unsupported pickle opcode 0x{:02x} ('{}')", op,
                           op >= 32 && op < 127 ? std::string(1, static_cast<char>(op)) : std::string("?")));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    throw CorruptData(fmt::format("{}: pickle byte {}: {}", what_, op_pos_, msg));
  }

  const char* take(size_t n) {
    if (n > data_.size() - pos_) {
      fail(fmt::format("truncated: needs {} more bytes, {} left", n, data_.size() - pos_));
    }
    const char* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint8_t byte() { return static_cast<uint8_t>(*take(1)); }
  uint64_t uint_le(size_t n) {
    const char* p = take(n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
    return v;
  }
  int64_t long_le(size_t n) {
    if (n == 0) return 0;
    if (n > 8) fail(fmt::format("integer of {} bytes does not fit int64", n));
    uint64_t v = uint_le(n);
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }
  std::string str(uint64_t n) {
    if (n > data_.size()) fail(fmt::format("string length {} exceeds the pickle", n));
    return std::string(take(static_cast<size_t>(n)), static_cast<size_t>(n));
  }
  std::string line() {
    const size_t end = data_.find('\n', pos_);
    if (end == std::string_view::npos) fail("truncated GLOBAL name");
    std::string s(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }

  void push(PyValue v) { stack_.push_back(std::make_shared<PyValue>(std::move(v))); }
  std::shared_ptr<PyValue> top_ptr() {
    if (stack_.empty() || (!marks_.empty() && marks_.back() == stack_.size())) fail("stack underflow");
    return stack_.back();
  }
  PyValue& top(PyValue::Kind kind, const char* op) {
    auto& v = *top_ptr();
    if (v.kind() != kind) {
      fail(fmt::format("{} on a {}, expected a {}", op, v.kind_name(), PyValue::kind_name(kind)));
    }
    return v;
  }
  PyValue pop() {
    auto p = top_ptr();
    stack_.pop_back();
    return *p;
  }
  std::vector<PyValue> pop_n(size_t n) {
    if (stack_.size() < n || (!marks_.empty() && stack_.size() - n < marks_.back())) fail("stack underflow");
    std::vector<PyValue> items;
    for (size_t i = stack_.size() - n; i < stack_.size(); ++i) items.push_back(*stack_[i]);
    stack_.resize(stack_.size() - n);
    return items;
  }
  std::vector<PyValue> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PyValue> items;
    for (size_t i = mark; i < stack_.size(); ++i) items.push_back(*stack_[i]);
    stack_.resize(mark);
    return items;
  }
  void set_items(PyValue& dict, std::vector<PyValue>& items) {
    if (items.size() % 2 != 0) fail("odd number of items for a dict");
    for (size_t i = 0; i < items.size(); i += 2) dict.set(std::move(items[i]), std::move(items[i + 1]));
  }
  void memo_put(uint64_t index) {
    memo_[index] = top_ptr();
  }
  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail(fmt::format("memo entry {} was never stored", index));
    stack_.push_back(it->second);
  }

  PyValue resolve_global(const std::string& module, const std::string& name) {
    const std::string qualified = module + "." + name;
    if (!allowed_global(qualified)) {
      fail(fmt::format("refusing global '{}': only OrderedDict, tensors and storages are allowed in a "
                       "checkpoint (radclear never imports or runs code from a pickle)",
                       qualified));
    }
    return PyValue::global(qualified);
  }

  PyValue reduce(const PyValue& callable, const PyValue& args) {
    if (callable.kind() != PyValue::Kind::kGlobal) fail(fmt::format("REDUCE on a {}", callable.kind_name()));
    if (args.kind() != PyValue::Kind::kTuple) fail("REDUCE arguments are not a tuple");
    const std::string& fn = callable.as_string();
    const auto& a = args.items();
    if (fn == kOrderedDict) {
      if (!a.empty()) fail("OrderedDict(...) with arguments is not supported");
      return PyValue::dict(/*ordered=*/true);
    }
    if (fn == kRebuildTensorV2) {
      if (a.size() != 6 && a.size() != 7) fail(fmt::format("_rebuild_tensor_v2 with {} arguments", a.size()));
      return rebuild_tensor(a);
    }
    if (fn == kRebuildParameter) {
      if (a.size() != 3 || a[0].kind() != PyValue::Kind::kTensor) fail("malformed _rebuild_parameter");
      return a[0];
    }
    fail(fmt::format("'{}' cannot be called", fn));
  }

  std::vector<int64_t> int_tuple(const PyValue& v, const char* what) {
    if (v.kind() != PyValue::Kind::kTuple && v.kind() != PyValue::Kind::kList) {
      fail(fmt::format("tensor {} is a {}, expected a tuple of ints", what, v.kind_name()));
    }
    std::vector<int64_t> out;
    for (const auto& x : v.items()) {
      if (x.kind() != PyValue::Kind::kInt) fail(fmt::format("tensor {} holds a {}", what, x.kind_name()));
      out.push_back(x.as_int());
    }
    return out;
  }

  PyValue rebuild_tensor(const std::vector<PyValue>& a) {
    if (a[0].kind() != PyValue::Kind::kTensor) fail("_rebuild_tensor_v2 without a storage");
    if (a[1].kind() != PyValue::Kind::kInt) fail("_rebuild_tensor_v2: storage offset is not an int");
    const at::Tensor& storage = a[0].as_tensor();
    const int64_t offset = a[1].as_int();
    const auto size = int_tuple(a[2], "size");
    const auto stride = int_tuple(a[3], "stride");
    if (size.size() != stride.size()) fail("tensor size and stride differ in length");
    int64_t last = offset;  // highest element index touched
    bool empty = false;
    for (size_t i = 0; i < size.size(); ++i) {
      if (size[i] < 0 || stride[i] < 0) fail("negative tensor size or stride");
      if (size[i] == 0) empty = true;
      last += (size[i] - 1) * stride[i];
    }
    if (offset < 0 || (!empty && last >= storage.numel())) {
      fail(fmt::format("tensor view (offset {}, size [{}], stride [{}]) exceeds its storage of {} elements",
                       offset, fmt::join(size, ", "), fmt::join(stride, ", "), storage.numel()));
    }
    if (empty) return PyValue::tensor(at::empty(size, storage.options()));
    return PyValue::tensor(storage.as_strided(size, stride, offset));
  }

  PyValue persistent_load(const PyValue& pid) {
    if (pid.kind() != PyValue::Kind::kTuple || pid.size() != 5 ||
        pid.items()[0].kind() != PyValue::Kind::kString || pid.items()[0].as_string() != "storage" ||
        pid.items()[1].kind() != PyValue::Kind::kGlobal || pid.items()[2].kind() != PyValue::Kind::kString ||
        pid.items()[4].kind() != PyValue::Kind::kInt) {
      fail("persistent id is not ('storage', type, key, location, numel)");
    }
    const auto& p = pid.items();
    const std::string& key = p[2].as_string();
    const at::ScalarType dtype = storage_dtype(p[1].as_string());
    const int64_t numel = p[4].as_int();
    if (numel < 0) fail("negative storage size");
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      at::Tensor t = loader_(key, dtype, numel);
      it = storages_.emplace(key, t).first;
    }
    if (it->second.scalar_type() != dtype || it->second.numel() != numel) {
      fail(fmt::format("storage '{}' is used as {} x {} and as {} x {}", key, numel, c10::toString(dtype),
                       it->second.numel(), c10::toString(it->second.scalar_type())));
    }
    return PyValue::tensor(it->second);
  }

  std::string_view data_;
  const StorageLoader& loader_;
  const std::string& what_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  std::vector<std::shared_ptr<PyValue>> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, std::shared_ptr<PyValue>> memo_;
  std::map<std::string, at::Tensor> storages_;
};

// ---------------------------------------------------------------- writing

class Pickler {
 public:
  explicit Pickler(std::vector<StorageRecord>* storages) : storages_(storages) {}

  std::string run(const PyValue& v) {
    out_ += "\x80\x02";
    write(v);
    out_ += '.';
    return std::move(out_);
  }

 private:
  void op(char c) { out_ += c; }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_ += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  void global(const std::string& qualified) {
    const size_t dot = qualified.rfind('.');
    out_ += 'c';
    out_ += qualified.substr(0, dot) + "\n" + qualified.substr(dot + 1) + "\n";
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 256) {
      op('K');
      out_ += static_cast<char>(v);
    } else if (v >= 0 && v < 65536) {
      op('M');
      out_ += static_cast<char>(v & 0xff);
      out_ += static_cast<char>(v >> 8);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      u32(static_cast<uint32_t>(static_cast<int32_t>(v)));
    } else {
      // LONG1 with the shortest two's-complement little-endian encoding.
      std::string bytes;
      const uint64_t u = static_cast<uint64_t>(v);
      for (int i = 0; i < 8; ++i) bytes += static_cast<char>((u >> (8 * i)) & 0xff);
      while (bytes.size() > 1) {
        const auto last = static_cast<uint8_t>(bytes.back());
        const auto prev_sign = static_cast<uint8_t>(bytes[bytes.size() - 2]) & 0x80;
        if ((last == 0x00 && !prev_sign) || (last == 0xff && prev_sign)) {
          bytes.pop_back();
        } else {
          break;
        }
      }
      out_ += '\x8a';
      out_ += static_cast<char>(bytes.size());
      out_ += bytes;
    }
  }
  void string(const std::string& s) {
    op('X');
    u32(static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  void empty_ordered_dict() {
    global(kOrderedDict);
    op(')');
    op('R');
  }
  void int_tuple(at::IntArrayRef values) {
    op('(');
    for (int64_t v : values) integer(v);
    op('t');
  }

  void write(const PyValue& v) {
    using K = PyValue::Kind;
    switch (v.kind()) {
      case K::kNone: op('N'); break;
      case K::kBool: op(v.as_bool() ? '\x88' : '\x89'); break;
      case K::kInt: integer(v.as_int()); break;
      case K::kFloat: {
        const double d = v.as_float();
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        op('G');
        for (int i = 7; i >= 0; --i) out_ += static_cast<char>((bits >> (8 * i)) & 0xff);
        break;
      }
      case K::kString: string(v.as_string()); break;
      case K::kTuple: {
        const auto& items = v.items();
        if (items.empty()) {
          op(')');
        } else if (items.size() <= 3) {
          for (const auto& item : items) write(item);
          op(static_cast<char>(0x84 + items.size()));  // TUPLE1..TUPLE3
        } else {
          op('(');
          for (const auto& item : items) write(item);
          op('t');
        }
        break;
      }
      case K::kList:
        op(']');
        if (!v.items().empty()) {
          op('(');
          for (const auto& item : v.items()) write(item);
          op('e');
        }
        break;
      case K::kDict:
        if (v.is_ordered_dict()) {
          empty_ordered_dict();
        } else {
          op('}');
        }
        if (v.size() > 0) {
          op('(');
          for (size_t i = 0; i < v.size(); ++i) {
            write(v.keys()[i]);
            write(v.values()[i]);
          }
          op('u');
        }
        break;
      case K::kTensor: tensor(v.as_tensor()); break;
      case K::kGlobal:
        throw InvalidArgument(fmt::format("cannot pickle the global reference {}", v.repr()));
    }
  }

  void tensor(at::Tensor t) {
    if (!t.defined()) throw InvalidArgument("cannot pickle an undefined tensor");
    t = t.detach();
    if (!t.device().is_cpu()) t = t.cpu();
    const std::string type = storage_type_name(t.scalar_type());
    const c10::StorageImpl* impl = t.storage().unsafeGetStorageImpl();
    auto it = keys_.find(impl);
    if (it == keys_.end()) {
      StorageRecord rec;
      rec.key = std::to_string(storages_->size());
      rec.owner = t;
      rec.data = t.storage().data();
      rec.nbytes = t.storage().nbytes();
      storages_->push_back(rec);
      it = keys_.emplace(impl, rec.key).first;
    }
    const int64_t numel = static_cast<int64_t>(t.storage().nbytes() / t.element_size());
    global(kRebuildTensorV2);
    op('(');
    op('(');  // persistent id
    string("storage");
    global(type);
    string(it->second);
    string("cpu");
    integer(numel);
    op('t');
    op('Q');
    integer(t.storage_offset());
    int_tuple(t.sizes());
    int_tuple(t.strides());
    op('\x89');  // requires_grad False
    empty_ordered_dict();
    op('t');
    op('R');
  }

  std::vector<StorageRecord>* storages_;
  std::map<const c10::StorageImpl*, std::string> keys_;
  std::string out_;
};

}  // namespace

at::ScalarType storage_dtype(const std::string& storage_type) {
  const auto it = storage_types().find(storage_type);
  if (it == storage_types().end()) {
    throw InvalidArgument(fmt::format("unsupported storage type '{}'", storage_type));
  }
  return it->second;
}

std::string storage_type_name(at::ScalarType dtype) {
  for (const auto& [name, type] : storage_types()) {
    if (type == dtype) return name;
  }
  throw InvalidArgument(fmt::format("no torch storage type for dtype {}", c10::toString(dtype)));
}

PyValue unpickle(std::string_view data, const StorageLoader& load_storage, const std::string& what) {
  return Unpickler(data, load_storage, what).run();
}

std::string pickle(const PyValue& value, std::vector<StorageRecord>* storages) {
  RADCLEAR_CHECK(storages != nullptr, "pickle needs a storage list");
  return Pickler(storages).run(value);
}

}  // namespace radclear::storage
