import CImageCodecs
import Foundation

/// A minimal PNG encoder for every colour type and bit depth (libpng's simplified writer only makes
/// 8-bit gray/RGB), so the decoder can be tested on palette, 1-bit, 16-bit and alpha files.
/// Each scanline is filter type 0 (none); the image data is one zlib stream in one IDAT chunk.
enum RawPNGWriter {
    /// A PNG of `width × height` with the given IHDR colour type and bit depth, whose scanlines
    /// (without the filter byte) are `rows`; `palette` (RGB triples) makes a PLTE chunk.
    static func encode(width: Int, height: Int, bitDepth: UInt8, colorType: UInt8, rows: [[UInt8]], palette: [UInt8]? = nil) throws -> Data {
        var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.append(contentsOf: bigEndian(UInt32(width)) + bigEndian(UInt32(height)))
        header.append(contentsOf: [bitDepth, colorType, 0, 0, 0])
        appendChunk("IHDR", header, to: &out)
        if let palette { appendChunk("PLTE", Data(palette), to: &out) }
        var raw = Data()
        for row in rows { raw.append(0); raw.append(contentsOf: row) }
        var size = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(size))
        _ = raw.withUnsafeBytes { compress2(&compressed, &size, $0.baseAddress?.assumingMemoryBound(to: Bytef.self), uLong(raw.count), 6) }
        appendChunk("IDAT", Data(compressed[0..<Int(size)]), to: &out)
        appendChunk("IEND", Data(), to: &out)
        return out
    }

    private static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    private static func appendChunk(_ type: String, _ body: Data, to out: inout Data) {
        out.append(contentsOf: bigEndian(UInt32(body.count)))
        let typed = Data(type.utf8) + body
        out.append(typed)
        let crc = typed.withUnsafeBytes { crc32(0, $0.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(typed.count)) }
        out.append(contentsOf: bigEndian(UInt32(crc)))
    }
}
