/// How a glyph becomes a training image: rendered by FreeType at an em of `pixelSize` pixels,
/// cropped to its ink (the pixels of non-zero coverage), scaled so that its longer side is `box`
/// pixels (aspect ratio kept; the other side `max(1, round(side · box / longer))`, antialiased
/// triangle filter, `Image.resized`), and pasted on a black `canvas × canvas` image at offset
/// `(⌊(canvas − w)/2⌋, ⌊(canvas − h)/2⌋)`. Ink is bright (coverage 0…255).
///
/// Scaling every glyph to the same box removes what the font's size and the glyph's position on
/// the baseline say (x-height, ascenders, descenders, case) so that the network has to learn the
/// shape; it is the framing of Omniglot's hand-drawn characters.
public struct GlyphRendering: Codable, Equatable, Sendable {
    /// Side of the square output image.
    public var canvas = 32
    /// Side of the box the glyph's ink is scaled to fit (`box ≤ canvas`).
    public var box = 28
    /// The em size, in pixels, FreeType renders at before the glyph is scaled to the box.
    public var pixelSize = 64

    /// The default: 64-px renderings fitted to 28 × 28 on a 32 × 32 canvas.
    public init() {}

    /// The given sizes; throws unless `1 ≤ box ≤ canvas ≤ 1024` and `8 ≤ pixelSize ≤ 1024`.
    public init(canvas: Int, box: Int, pixelSize: Int) throws {
        guard (1...1024).contains(canvas), (1...canvas).contains(box) else {
            throw DataError(file: "--size/--box", "canvas \(canvas) and box \(box): expected 1 ≤ box ≤ canvas ≤ 1024")
        }
        guard (8...1024).contains(pixelSize) else {
            throw DataError(file: "--render-size", "\(pixelSize): expected 8…1024 pixels")
        }
        self.canvas = canvas
        self.box = box
        self.pixelSize = pixelSize
    }

    /// The bounding box of the pixels of `image` (gray) with non-zero coverage; nil if none.
    public static func inkRegion(of image: Image) -> PixelRegion? {
        var minX = image.width, minY = image.height, maxX = -1, maxY = -1
        image.pixels.withUnsafeBufferPointer { p in
            for y in 0..<image.height {
                for x in 0..<image.width where p[(y * image.width + x) * image.channels] != 0 {
                    minX = Swift.min(minX, x); maxX = Swift.max(maxX, x)
                    minY = Swift.min(minY, y); maxY = Swift.max(maxY, y)
                }
            }
        }
        guard maxX >= 0 else { return nil }
        return PixelRegion(x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1)
    }

    /// `bitmap` (a gray FreeType rendering) cropped to its ink, fitted to the box and centred on
    /// the canvas; nil when there is no ink (before or after scaling).
    public func fitted(_ bitmap: Image) -> Image? {
        guard let ink = Self.inkRegion(of: bitmap) else { return nil }
        let longer = Swift.max(ink.width, ink.height)
        func side(_ n: Int) -> Int { Swift.max(1, Int((Double(n) * Double(box) / Double(longer)).rounded())) }
        let w = Swift.min(box, side(ink.width)), h = Swift.min(box, side(ink.height))
        let glyph = bitmap.converted(toChannels: 1).resampled(region: ink, width: w, height: h)
        let x0 = (canvas - w) / 2, y0 = (canvas - h) / 2
        var pixels = [UInt8](repeating: 0, count: canvas * canvas)
        var any = false
        for y in 0..<h {
            for x in 0..<w {
                let v = glyph.pixels[y * w + x]
                pixels[(y0 + y) * canvas + x0 + x] = v
                any = any || v != 0
            }
        }
        return any ? Image(width: canvas, height: canvas, channels: 1, pixels: pixels) : nil
    }

    /// Renders `scalar` from `face`: `.missing` when the character map has no glyph for it
    /// (index 0, `.notdef`), `.blank` when the glyph has no ink, otherwise the fitted image.
    public func render(_ scalar: Unicode.Scalar, from face: FontFace) throws -> GlyphOutcome {
        let index = face.glyphIndex(of: scalar)
        guard index != 0 else { return .missing }
        guard let bitmap = try face.render(glyph: index, pixelSize: pixelSize), let image = fitted(bitmap) else { return .blank }
        return .image(image)
    }

    /// The font's `.notdef` glyph (index 0) rendered the same way, nil when it is empty.
    public func renderNotdef(from face: FontFace) throws -> Image? {
        guard let bitmap = try face.render(glyph: 0, pixelSize: pixelSize) else { return nil }
        return fitted(bitmap)
    }
}

/// What rendering one character from one font gave.
public enum GlyphOutcome: Equatable, Sendable {
    /// The font's character map does not cover the character.
    case missing
    /// The glyph exists but draws nothing.
    case blank
    /// The fitted glyph.
    case image(Image)
}

/// The normalized L1 difference of two equal-size gray images,
/// `Σ|a − b| / Σ max(a, b)` (0: identical; 1: no overlapping ink); 0 for two empty images.
public func glyphDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
    precondition(a.count == b.count, "glyphDifference needs images of one size")
    var diff = 0, union = 0
    a.withUnsafeBufferPointer { p in
        b.withUnsafeBufferPointer { q in
            for i in 0..<p.count {
                let x = Int(p[i]), y = Int(q[i])
                diff += abs(x - y)
                union += Swift.max(x, y)
            }
        }
    }
    return union == 0 ? 0 : Double(diff) / Double(union)
}
