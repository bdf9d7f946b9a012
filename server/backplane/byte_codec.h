// The primitives of the backplane's binary formats (member records, room
// messages): big-endian integers and strings behind a one-byte length.
// Internal to server/backplane. The reader never reads past its input: each
// read reports whether the bytes were there, and a failed read leaves the
// reader failed, so a decoder may check once at the end.
#ifndef CURSORD_BACKPLANE_BYTE_CODEC_H_
#define CURSORD_BACKPLANE_BYTE_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cursord::backplane::internal {

// The longest string a one-byte length can carry.
inline constexpr size_t kMaxShortString = 255;

class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(*out) {}

  void U8(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  void U16(uint16_t value) { BigEndian(value, 2); }
  void U64(uint64_t value) { BigEndian(value, 8); }
  // A length byte, then the bytes. The caller has checked the size
  // (<= kMaxShortString); a longer string is cut there, never mis-framed.
  void ShortString(std::string_view bytes) {
    if (bytes.size() > kMaxShortString) bytes = bytes.substr(0, kMaxShortString);
    U8(static_cast<uint8_t>(bytes.size()));
    out_.append(bytes);
  }
  // A 16-bit length, then the bytes (cut at 65535, never mis-framed).
  void String16(std::string_view bytes) {
    if (bytes.size() > 0xffff) bytes = bytes.substr(0, 0xffff);
    U16(static_cast<uint16_t>(bytes.size()));
    out_.append(bytes);
  }
  void Raw(std::string_view bytes) { out_.append(bytes); }

 private:
  void BigEndian(uint64_t value, int bytes) {
    for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
      out_.push_back(static_cast<char>((value >> shift) & 0xff));
    }
  }

  std::string& out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool U8(uint8_t* value) {
    uint64_t v = 0;
    if (!BigEndian(1, &v)) return false;
    *value = static_cast<uint8_t>(v);
    return true;
  }
  bool U16(uint16_t* value) {
    uint64_t v = 0;
    if (!BigEndian(2, &v)) return false;
    *value = static_cast<uint16_t>(v);
    return true;
  }
  bool U64(uint64_t* value) { return BigEndian(8, value); }
  bool ShortString(std::string* value) {
    uint8_t size = 0;
    if (!U8(&size) || !Has(size)) return Fail();
    value->assign(in_.data() + pos_, size);
    pos_ += size;
    return true;
  }
  bool String16(std::string* value) {
    uint16_t size = 0;
    if (!U16(&size) || !Has(size)) return Fail();
    value->assign(in_.data() + pos_, size);
    pos_ += size;
    return true;
  }
  // Everything not read yet (and the reader is then at the end).
  std::string_view Rest() {
    std::string_view rest = failed_ ? std::string_view() : in_.substr(pos_);
    pos_ = in_.size();
    return rest;
  }

  bool failed() const { return failed_; }
  size_t remaining() const { return failed_ ? 0 : in_.size() - pos_; }
  // Every byte was read and no read failed.
  bool done() const { return !failed_ && pos_ == in_.size(); }

 private:
  bool Has(size_t n) const { return !failed_ && in_.size() - pos_ >= n; }
  bool Fail() {
    failed_ = true;
    return false;
  }
  bool BigEndian(int bytes, uint64_t* value) {
    if (!Has(static_cast<size_t>(bytes))) return Fail();
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in_[pos_ + i]);
    pos_ += static_cast<size_t>(bytes);
    *value = v;
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace cursord::backplane::internal

#endif  // CURSORD_BACKPLANE_BYTE_CODEC_H_
