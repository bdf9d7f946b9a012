#ifndef CURSORD_SERVER_WEB_ASSETS_TABLE_H_
#define CURSORD_SERVER_WEB_ASSETS_TABLE_H_

// Private to cursord_web: the table that embed_assets.cmake generates at build
// time. Keeping the lookup in hand-written code leaves the generator dumb.

#include <cstddef>
#include <string_view>

#include "server/web/assets.h"

namespace cursord::web::internal {

extern const std::size_t kAssetCount;
extern const std::string_view kAssetNames[];
extern const Asset kAssets[];

}  // namespace cursord::web::internal

#endif  // CURSORD_SERVER_WEB_ASSETS_TABLE_H_
