// The colour a member is shown in (protocol v2's `08`): the one it joined
// with, or one derived stably from who it is, so that a person keeps their
// colour across reconnects, instances and versions. Pure code; the rule is
// documented byte for byte in docs/PROTOCOL.md ("Colour").
#ifndef CURSORD_CORE_MEMBER_COLOR_H_
#define CURSORD_CORE_MEMBER_COLOR_H_

#include <cstdint>
#include <optional>
#include <string_view>

#include "server/core/wire.h"

namespace cursord::core {

// "#rrggbb" (either case) as bytes; nullopt for anything else.
std::optional<Rgb> ParseHexColor(std::string_view text);

// HSL (hue in degrees [0, 360), saturation and lightness in [0, 1]) to RGB,
// each channel rounded to the nearest integer.
Rgb HslToRgb(double hue, double saturation, double lightness);

// The colour of member `id` that joined with `color` ("#rrggbb" or ""),
// `user_id` and `name` ("" when not given): `color` if given; else hue
// FNV-1a-32(user_id, or name when there is no user id) mod 360; else, for
// an anonymous member, hue (id * 137.508) mod 360; at 70 % saturation and
// 45 % lightness.
Rgb MemberColor(std::string_view color, std::string_view user_id, std::string_view name,
                uint8_t id);

}  // namespace cursord::core

#endif  // CURSORD_CORE_MEMBER_COLOR_H_
