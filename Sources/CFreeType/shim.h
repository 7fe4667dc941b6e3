#ifndef DML_CFREETYPE_SHIM_H
#define DML_CFREETYPE_SHIM_H
#include <ft2build.h>
#include FT_FREETYPE_H

/// The glyph-loading flags of the font-glyph renderer: render to an 8-bit anti-aliased bitmap
/// from the outlines, without hinting (so the result depends on the outline only, not on the
/// hinting engine) and ignoring embedded bitmap strikes.
static const FT_Int32 DML_FT_LOAD_OUTLINE_GRAY = FT_LOAD_RENDER | FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP;
#endif
