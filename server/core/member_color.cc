#include "server/core/member_color.h"

#include <cmath>

namespace cursord::core {
namespace {

constexpr double kSaturation = 0.70;
constexpr double kLightness = 0.45;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

uint32_t Fnv1a32(std::string_view bytes) {
  uint32_t hash = 2166136261u;
  for (const char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 16777619u;
  }
  return hash;
}

uint8_t Channel(double value) {
  return static_cast<uint8_t>(std::lround(std::fmin(std::fmax(value, 0.0), 1.0) * 255.0));
}

}  // namespace

std::optional<Rgb> ParseHexColor(std::string_view text) {
  if (text.size() != 7 || text[0] != '#') return std::nullopt;
  uint8_t bytes[3];
  for (int i = 0; i < 3; ++i) {
    const int hi = HexDigit(text[1 + 2 * i]);
    const int lo = HexDigit(text[2 + 2 * i]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return Rgb{bytes[0], bytes[1], bytes[2]};
}

Rgb HslToRgb(double hue, double saturation, double lightness) {
  // CSS Color 4's hslToRgb.
  auto f = [&](double n) {
    const double k = std::fmod(n + hue / 30.0, 12.0);
    const double a = saturation * std::fmin(lightness, 1.0 - lightness);
    return lightness - a * std::fmax(-1.0, std::fmin(std::fmin(k - 3.0, 9.0 - k), 1.0));
  };
  return Rgb{Channel(f(0)), Channel(f(8)), Channel(f(4))};
}

Rgb MemberColor(std::string_view color, std::string_view user_id, std::string_view name,
                uint8_t id) {
  if (std::optional<Rgb> given = ParseHexColor(color)) return *given;
  const std::string_view key = !user_id.empty() ? user_id : name;
  const double hue = !key.empty() ? static_cast<double>(Fnv1a32(key) % 360)
                                  : std::fmod(id * 137.508, 360.0);
  return HslToRgb(hue, kSaturation, kLightness);
}

}  // namespace cursord::core
