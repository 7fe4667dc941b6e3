import CFreeType

/// The first face of a font file (TrueType, OpenType, Type 1, … — whatever FreeType reads),
/// opened with its own FreeType library instance so that faces on different threads never share
/// state.
///
/// Glyphs are rendered from their outlines without hinting and without embedded bitmaps
/// (`FT_LOAD_RENDER | FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP`), as 8-bit anti-aliased coverage
/// (0 = no ink, 255 = full ink), so a rendering depends only on the outline, the pixel size and
/// FreeType's rasterizer.
public final class FontFace {
    /// The font file.
    public let path: String
    /// The family name the face declares (`DejaVu Sans`), or "" when it has none.
    public let familyName: String
    /// The style name the face declares (`Bold Oblique`), or "" when it has none.
    public let styleName: String

    private var library: FT_Library?
    private var face: FT_Face?

    /// Opens `path`; a file FreeType cannot read as a font is a `DataError` naming the file and
    /// FreeType's error.
    public init(path: String) throws {
        self.path = path
        var lib: FT_Library?
        var error = FT_Init_FreeType(&lib)
        guard error == 0, let lib else {
            throw DataError(file: path, "cannot start FreeType (\(Self.describe(error)))")
        }
        var f: FT_Face?
        error = FT_New_Face(lib, path, 0, &f)
        guard error == 0, let f else {
            FT_Done_FreeType(lib)
            throw DataError(file: path, "not a font file FreeType can read (\(Self.describe(error))); expected a TrueType, OpenType or Type 1 font")
        }
        guard f.pointee.face_flags & FT_Long(FT_FACE_FLAG_SCALABLE) != 0 else {
            FT_Done_Face(f)
            FT_Done_FreeType(lib)
            throw DataError(file: path, "a bitmap-only font; expected a scalable (outline) font")
        }
        library = lib
        face = f
        familyName = f.pointee.family_name.map { String(cString: $0) } ?? ""
        styleName = f.pointee.style_name.map { String(cString: $0) } ?? ""
    }

    deinit {
        if let face { FT_Done_Face(face) }
        if let library { FT_Done_FreeType(library) }
    }

    /// The version of the FreeType library in use, `major.minor.patch`.
    public static var freeTypeVersion: String {
        var lib: FT_Library?
        guard FT_Init_FreeType(&lib) == 0, let lib else { return "unknown" }
        defer { FT_Done_FreeType(lib) }
        var major: FT_Int = 0, minor: FT_Int = 0, patch: FT_Int = 0
        FT_Library_Version(lib, &major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    /// The glyph index the face's character map gives `scalar`; 0 (`.notdef`) when the font
    /// does not map it.
    public func glyphIndex(of scalar: Unicode.Scalar) -> UInt32 {
        guard let face else { return 0 }
        return UInt32(FT_Get_Char_Index(face, FT_ULong(scalar.value)))
    }

    /// Glyph `index` rendered at an em of `pixelSize` pixels, as a gray image of its bitmap
    /// (coverage 0…255, ink bright); nil when the glyph has no pixels at all (a space or an
    /// empty outline). An error names the file and the glyph.
    public func render(glyph index: UInt32, pixelSize: Int) throws -> Image? {
        guard let face else { return nil }
        var error = FT_Set_Pixel_Sizes(face, 0, FT_UInt(pixelSize))
        guard error == 0 else { throw DataError(file: path, "cannot set a pixel size of \(pixelSize) (\(Self.describe(error)))") }
        error = FT_Load_Glyph(face, FT_UInt(index), DML_FT_LOAD_OUTLINE_GRAY)
        guard error == 0, let slot = face.pointee.glyph else {
            throw DataError(file: path, "cannot render glyph \(index) (\(Self.describe(error)))")
        }
        let bitmap = slot.pointee.bitmap
        let width = Int(bitmap.width), height = Int(bitmap.rows), pitch = Int(bitmap.pitch)
        guard width > 0, height > 0, let buffer = bitmap.buffer else { return nil }
        guard bitmap.pixel_mode == UInt8(FT_PIXEL_MODE_GRAY.rawValue), bitmap.num_grays == 256 else {
            throw DataError(file: path, "glyph \(index) rendered in pixel mode \(bitmap.pixel_mode), expected 8-bit gray")
        }
        var pixels = [UInt8](repeating: 0, count: width * height)
        // A negative pitch means the rows are stored bottom-up, starting at `buffer`'s last row.
        let origin = pitch >= 0 ? buffer : buffer + (height - 1) * -pitch
        for y in 0..<height {
            let row = origin + y * pitch
            for x in 0..<width { pixels[y * width + x] = row[x] }
        }
        return Image(width: width, height: height, channels: 1, pixels: pixels)
    }

    /// FreeType's error string when it has one, else the error number.
    static func describe(_ error: FT_Error) -> String {
        if let s = FT_Error_String(error) { return "FreeType error \(error): \(String(cString: s))" }
        return "FreeType error \(error)"
    }
}
