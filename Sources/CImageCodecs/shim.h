// Bridges libjpeg-turbo's TurboJPEG API (libturbojpeg0-dev), libpng's simplified
// png_image API (libpng-dev) and zlib (zlib1g-dev) into Swift.
#include <turbojpeg.h>
#include <png.h>
#include <zlib.h>
