import DMLNumerics

/// A read-only view of a zip archive as `torch.save` writes it: every entry *stored*
/// (method 0, no compression), optionally ZIP64. Entries are byte ranges of the archive, checked
/// against its size and their CRC-32 when read.
///
/// Layout read: the end-of-central-directory record (searched in the last 64 KiB + 22 bytes),
/// the ZIP64 end record when a field is saturated, the central directory (names, sizes, CRCs,
/// local header offsets, ZIP64 extra fields), and each entry's local header to find where its
/// data starts (`offset + 30 + name length + extra length`; torch pads the extra field so data
/// is 64-byte aligned).
struct ZipContainer {
    /// One entry of the central directory.
    struct Entry {
        let name: String
        let method: UInt16
        let flags: UInt16
        let crc32: UInt32
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
    }

    let entries: [Entry]
    private let index: [String: Int]

    /// Parses the central directory of `bytes`; throws `.invalidZip` or `.truncated`.
    init(_ bytes: UnsafeRawBufferPointer) throws(WeightFileError.Kind) {
        let count = bytes.count
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt64 { UInt64(u16(at)) | UInt64(u16(at + 2)) << 16 }
        func u64(_ at: Int) -> UInt64 { u32(at) | u32(at + 4) << 32 }
        func fits(_ offset: Int, _ length: Int) -> Bool { offset >= 0 && length >= 0 && offset <= count && length <= count - offset }

        guard count >= 22 else { throw .truncated(what: "the zip end-of-central-directory record", offset: 0, needed: 22, available: count) }
        var eocd = -1
        var p = count - 22
        let lowest = max(0, count - 22 - 65_535)
        while p >= lowest {
            if bytes[p] == 0x50, bytes[p + 1] == 0x4B, bytes[p + 2] == 0x05, bytes[p + 3] == 0x06, p + 22 + u16(p + 20) == count { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw .invalidZip("no end-of-central-directory record (the file is truncated or not a zip)") }
        var entryCount = UInt64(u16(eocd + 10))
        var directorySize = u32(eocd + 12)
        var directoryOffset = u32(eocd + 16)
        guard u16(eocd + 4) == 0, u16(eocd + 6) == 0 else { throw .invalidZip("multi-disk archives are not supported") }
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            let locator = eocd - 20
            guard locator >= 0, u32(locator) == 0x0706_4B50 else { throw .invalidZip("a saturated end record without a ZIP64 locator") }
            let record = u64(locator + 8)
            guard record <= UInt64(count), fits(Int(record), 56), u32(Int(record)) == 0x0606_4B50 else {
                throw .invalidZip("the ZIP64 end-of-central-directory record is missing or outside the file")
            }
            let r = Int(record)
            entryCount = u64(r + 32)
            directorySize = u64(r + 40)
            directoryOffset = u64(r + 48)
        }
        guard directoryOffset <= UInt64(count), directorySize <= UInt64(count), fits(Int(directoryOffset), Int(directorySize)) else {
            throw .invalidZip("the central directory (offset \(directoryOffset), \(directorySize) bytes) is outside the file of \(count) bytes")
        }
        guard entryCount <= directorySize / 46 else {
            throw .invalidZip("\(entryCount) entries cannot fit in a central directory of \(directorySize) bytes")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(Int(entryCount))
        var index: [String: Int] = [:]
        var q = Int(directoryOffset)
        let directoryEnd = Int(directoryOffset) + Int(directorySize)
        for k in 0..<Int(entryCount) {
            guard q <= directoryEnd - 46, u32(q) == 0x0201_4B50 else { throw .invalidZip("central directory entry \(k) is malformed") }
            let nameLength = u16(q + 28), extraLength = u16(q + 30), commentLength = u16(q + 32)
            guard 46 + nameLength + extraLength + commentLength <= directoryEnd - q else {
                throw .invalidZip("central directory entry \(k) runs past the directory")
            }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[(q + 46)..<(q + 46 + nameLength)])
            guard let name = String(validating: nameBytes, as: UTF8.self) else { throw .invalidZip("entry \(k) has a name that is not UTF-8") }
            var compressed = u32(q + 20), size = u32(q + 24), local = u32(q + 42)
            // ZIP64 extended information: the saturated fields, in this order.
            var e = q + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = u16(e), length = u16(e + 2)
                guard e + 4 + length <= extraEnd else { throw .invalidZip("entry '\(name)' has a malformed extra field") }
                if id == 0x0001 {
                    var f = e + 4
                    for field in 0..<3 {
                        let saturated = field == 0 ? size == 0xFFFF_FFFF : field == 1 ? compressed == 0xFFFF_FFFF : local == 0xFFFF_FFFF
                        guard saturated else { continue }
                        guard f + 8 <= e + 4 + length else { throw .invalidZip("entry '\(name)' has a short ZIP64 field") }
                        let v = u64(f)
                        if field == 0 { size = v } else if field == 1 { compressed = v } else { local = v }
                        f += 8
                    }
                }
                e += 4 + length
            }
            guard size <= UInt64(count), compressed <= UInt64(count), local <= UInt64(count) else {
                throw .invalidZip("entry '\(name)' declares a size or offset beyond the file")
            }
            guard index.updateValue(entries.count, forKey: name) == nil else { throw .invalidZip("entry '\(name)' occurs twice") }
            entries.append(Entry(name: name, method: UInt16(u16(q + 10)), flags: UInt16(u16(q + 8)), crc32: UInt32(u32(q + 16)),
                                 compressedSize: Int(compressed), size: Int(size), localHeaderOffset: Int(local)))
            q += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
        self.index = index
    }

    /// The entry called `name`, if any.
    func entry(named name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The byte range of `entry`'s data in `bytes`, after checking that it is stored
    /// (uncompressed, unencrypted), lies inside the archive and matches its CRC-32.
    func dataRange(of entry: Entry, in bytes: UnsafeRawBufferPointer) throws(WeightFileError.Kind) -> Range<Int> {
        let count = bytes.count
        guard entry.flags & 1 == 0 else { throw .invalidZip("entry '\(entry.name)' is encrypted") }
        guard entry.method == 0 else {
            throw .invalidZip("entry '\(entry.name)' is compressed (method \(entry.method)); torch.save stores entries uncompressed")
        }
        guard entry.compressedSize == entry.size else { throw .invalidZip("stored entry '\(entry.name)' has different compressed and uncompressed sizes") }
        let h = entry.localHeaderOffset
        guard h <= count - 30, bytes[h] == 0x50, bytes[h + 1] == 0x4B, bytes[h + 2] == 0x03, bytes[h + 3] == 0x04 else {
            throw .invalidZip("entry '\(entry.name)' has no local header at offset \(h)")
        }
        let nameLength = Int(bytes[h + 26]) | Int(bytes[h + 27]) << 8
        let extraLength = Int(bytes[h + 28]) | Int(bytes[h + 29]) << 8
        let start = h + 30 + nameLength + extraLength
        guard start <= count, entry.size <= count - start else {
            throw .truncated(what: "zip entry '\(entry.name)'", offset: min(start, count), needed: entry.size, available: max(0, count - start))
        }
        let range = start..<(start + entry.size)
        let crc = CRC32.checksum(UnsafeRawBufferPointer(rebasing: bytes[range]))
        guard crc == entry.crc32 else {
            throw .invalidZip("entry '\(entry.name)' fails its CRC-32 check (stored \(hex(entry.crc32)), computed \(hex(crc))): the file is corrupt")
        }
        return range
    }

    private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}
