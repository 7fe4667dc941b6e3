/// An 8-bit image: `height` rows of `width` pixels of `channels` interleaved samples (1 = gray,
/// 3 = RGB), stored row-major so sample `c` of pixel `(x, y)` is `pixels[(y·width + x)·channels + c]`.
public struct Image: Equatable, Sendable {
    /// Pixels per row.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Samples per pixel: 1 (gray) or 3 (RGB).
    public let channels: Int
    /// `height · width · channels` samples in HWC order.
    public var pixels: [UInt8]

    /// An image over the given HWC samples.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && (channels == 1 || channels == 3), "Image needs channels 1 or 3")
        precondition(pixels.count == width * height * channels,
                     "Image \(width)×\(height)×\(channels) needs \(width * height * channels) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image whose sample `c` at `(x, y)` is `value(x, y, c)` (convenient in tests).
    public init(width: Int, height: Int, channels: Int, _ value: (_ x: Int, _ y: Int, _ c: Int) -> UInt8) {
        var p = [UInt8]()
        p.reserveCapacity(width * height * channels)
        for y in 0..<height { for x in 0..<width { for c in 0..<channels { p.append(value(x, y, c)) } } }
        self.init(width: width, height: height, channels: channels, pixels: p)
    }

    /// Sample `channel` of pixel `(x, y)`.
    @inlinable
    public subscript(x x: Int, y y: Int, channel channel: Int) -> UInt8 {
        pixels[(y * width + x) * channels + channel]
    }

    /// The same image with `channels` samples per pixel: gray → RGB repeats the gray value;
    /// RGB → gray is the ITU-R BT.601 luma `Y = 0.299 R + 0.587 G + 0.114 B`, rounded.
    public func converted(toChannels target: Int) -> Image {
        precondition(target == 1 || target == 3, "channels must be 1 or 3")
        if target == channels { return self }
        let n = width * height
        var out = [UInt8](repeating: 0, count: n * target)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                if target == 3 {
                    for i in 0..<n { let v = src[i]; dst[3 * i] = v; dst[3 * i + 1] = v; dst[3 * i + 2] = v }
                } else {
                    for i in 0..<n {
                        let y = 0.299 * Float(src[3 * i]) + 0.587 * Float(src[3 * i + 1]) + 0.114 * Float(src[3 * i + 2])
                        dst[i] = UInt8(min(255, max(0, y.rounded())))
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: target, pixels: out)
    }
}

/// A rectangle of pixels: columns `x..<x+width`, rows `y..<y+height`.
public struct PixelRegion: Equatable, Sendable {
    /// The left column.
    public var x: Int
    /// The top row.
    public var y: Int
    /// The number of columns.
    public var width: Int
    /// The number of rows.
    public var height: Int

    /// The region of the given origin and size.
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}
