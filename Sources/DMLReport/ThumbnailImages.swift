import DMLData
import DMLRunDirectory
import Foundation

extension Thumbnails {
    /// Image `index` as an `Image` (DMLData's pixel type).
    public func picture(_ index: Int) -> Image {
        Image(width: width, height: height, channels: channels, pixels: Array(image(index)))
    }

    /// Image `index` as a `data:image/png;base64,…` URI (PNG by `PNGCodec.encode`).
    public func dataURI(_ index: Int) throws -> String {
        "data:image/png;base64," + (try PNGCodec.encode(picture(index))).base64EncodedString()
    }
}
