import DMLNumerics
import Foundation

/// A rendered font-glyph dataset: `count` gray images of `canvas × canvas` pixels, each the
/// glyph of one character class drawn by one font.
///
/// On disk (`write(to:)`, read by `FontGlyphDataset.load`) it is a folder of
/// - `glyphs.npy`: uint8 `N × canvas × canvas`, ink bright;
/// - `labels.npy`: int64 `N`, the class of each image (the row of `classes.tsv`);
/// - `fonts.npy`: int64 `N`, the font of each image (the row of `fonts.tsv`);
/// - `classes.tsv`: `id  code point  name  script  split` (a header line, then one class a line);
/// - `fonts.tsv`: `id  path  package  version  family  style  glyphs  status`, every font given,
///   used or not;
/// - `manifest.json`: the rendering parameters, FreeType's version, the rules' thresholds, the
///   counts of skipped glyphs by reason and the dropped characters with their reasons.
public struct FontGlyphCollection: Sendable {
    /// The rendering parameters.
    public var rendering: GlyphRendering
    /// The classes, in label order.
    public var classes: [GlyphCharacter]
    /// Every font given, in sorted path order.
    public var fonts: [FontRecord]
    /// `count · canvas²` pixels.
    public var images: [UInt8]
    /// The class of each image.
    public var labels: [Int]
    /// The font (index into `fonts`) of each image.
    public var fontIndices: [Int]
    /// Glyphs skipped, by reason (`missing`, `blank`, `notdef`, `ambiguous`).
    public var skipped: [String: Int]
    /// Characters of the set that are not classes, with the reason.
    public var droppedClasses: [DroppedClass]
    /// The FreeType version that rendered the glyphs.
    public var freeTypeVersion: String
    /// The builder's thresholds, by name.
    public var thresholds: [String: Double]

    /// The number of images.
    public var count: Int { labels.count }

    /// What `manifest.json` holds.
    struct Manifest: Codable {
        var format = "swift-metric-learning font glyphs 1"
        var rendering: GlyphRendering
        var freeTypeVersion: String
        var thresholds: [String: Double]
        var images: Int
        var classes: Int
        var fontsGiven: Int
        var fontsUsed: Int
        var skippedGlyphs: [String: Int]
        var droppedCharacters: [DroppedClass]
    }

    /// Writes the folder atomically: the files go to a temporary sibling folder that is renamed
    /// to `folder` (which must not exist).
    public func write(to folder: String) throws {
        let fm = FileManager.default
        guard !fm.fileExists(atPath: folder) else {
            throw DataError(file: folder, "already exists; remove it or choose another output folder")
        }
        let parent = (folder as NSString).deletingLastPathComponent
        if !parent.isEmpty { try AtomicFile.createDirectory(parent) }
        let temporary = (parent.isEmpty ? "." : parent) + "/" + AtomicFile.temporaryPrefix(for: (folder as NSString).lastPathComponent)
            + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        do {
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: false)
            let s = rendering.canvas
            try NPYArray(shape: [count, s, s], values: .uint8(images)).write(to: temporary + "/glyphs.npy")
            try NPYArray(labels: labels).write(to: temporary + "/labels.npy")
            try NPYArray(labels: fontIndices).write(to: temporary + "/fonts.npy")
            var classText = "id\tcode_point\tname\tscript\tsplit\n"
            for (k, c) in classes.enumerated() {
                classText += "\(k)\tU+\(String(format: "%04X", c.codePoint))\t\(c.name)\t\(c.script)\t\(c.split.rawValue)\n"
            }
            try AtomicFile.write(classText, to: temporary + "/classes.tsv")
            var fontText = "id\tpath\tpackage\tversion\tfamily\tstyle\tglyphs\tstatus\n"
            for (k, f) in fonts.enumerated() {
                fontText += "\(k)\t\(f.path)\t\(f.package)\t\(f.version)\t\(f.family)\t\(f.style)\t\(f.glyphs)\t\(f.status)\n"
            }
            try AtomicFile.write(fontText, to: temporary + "/fonts.tsv")
            let manifest = Manifest(rendering: rendering, freeTypeVersion: freeTypeVersion, thresholds: thresholds, images: count,
                                    classes: classes.count, fontsGiven: fonts.count,
                                    fontsUsed: fonts.filter { $0.status == "used" }.count, skippedGlyphs: skipped,
                                    droppedCharacters: droppedClasses)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try AtomicFile.write(encoder.encode(manifest), to: temporary + "/manifest.json")
            guard rename(temporary, folder) == 0 else {
                throw DataError(file: folder, "cannot move the rendered dataset into place (\(String(cString: strerror(errno))))")
            }
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw error
        }
    }
}

/// Reads a font-glyph folder written by `FontGlyphCollection.write(to:)` (`dml glyphs`) as a
/// class-disjoint dataset: samples `[1, canvas, canvas]` with values `pixel / 255`; the training
/// split is the classes `classes.tsv` marks `train` (or the ids of `trainClasses`), the test split
/// the others.
public enum FontGlyphDataset {
    /// The default folder: `$DML_FONT_GLYPHS`, else `data/font-glyphs` in the current directory.
    public static var defaultRoot: String {
        if let env = ProcessInfo.processInfo.environment["DML_FONT_GLYPHS"], !env.isEmpty { return env }
        return "data/font-glyphs"
    }

    /// The command that prepares the default folder, for error messages.
    public static let prepareCommand = "scripts/prepare-fonts.sh"

    /// Reads the folder `root`.
    public static func load(root: String, trainClasses: ClassSplit? = nil) throws -> Dataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError(file: root, "the font-glyph dataset is not prepared; in the repository run scripts/setup.sh (the font packages), then \(prepareCommand) \(root) — or dml glyphs --font-list FILE --out \(root)")
        }
        let glyphFile = root + "/glyphs.npy", labelFile = root + "/labels.npy", classFile = root + "/classes.tsv"
        let glyphs = try readNPY(glyphFile)
        guard glyphs.shape.count == 3, glyphs.shape[1] >= 1, glyphs.shape[1] == glyphs.shape[2],
              case .uint8(let pixels) = glyphs.values else {
            throw DataError(file: glyphFile, "expected uint8 images N×S×S, found \(glyphs.dtype.name) of shape \(glyphs.shape)")
        }
        let labels: [Int]
        do { labels = try readNPY(labelFile).labels(source: labelFile) } catch let e as NPYError {
            throw DataError(file: labelFile, e.reason)
        }
        guard labels.count == glyphs.shape[0] else {
            throw DataError(file: labelFile, "\(labels.count) labels for the \(glyphs.shape[0]) images of glyphs.npy")
        }
        let classes = try readClasses(classFile)
        if let k = labels.firstIndex(where: { $0 < 0 || $0 >= classes.count }) {
            throw DataError(file: labelFile, "label \(labels[k]) of image \(k) outside the \(classes.count) classes of classes.tsv")
        }
        let trainIDs: Set<Int>
        if let trainClasses {
            trainIDs = try trainClasses.partition(0..<classes.count, source: classFile).train
        } else {
            trainIDs = Set(classes.indices.filter { classes[$0].split == .train })
            guard !trainIDs.isEmpty, trainIDs.count < classes.count else {
                throw DataError(file: classFile, "the split column leaves \(trainIDs.count) training classes of \(classes.count); both splits need one")
            }
        }
        let side = glyphs.shape[1], plane = side * side
        func split(train: Bool) throws -> TensorSplit {
            let rows = labels.indices.filter { trainIDs.contains(labels[$0]) == train }
            let remap = ClassRemapping(ids: rows.map { labels[$0] }, name: { classes[$0].name })
            var features = Matrix<Float>(rows: rows.count, columns: plane)
            features.withUnsafeMutableBufferPointer { dst in
                pixels.withUnsafeBufferPointer { src in
                    for (r, item) in rows.enumerated() {
                        for k in 0..<plane { dst[r * plane + k] = Float(src[item * plane + k]) / 255 }
                    }
                }
            }
            return try TensorSplit(features: features, labels: rows.map { remap.label(of: labels[$0]) }, classes: remap.classes,
                                   sampleShape: SampleShape(channels: 1, height: side, width: side), isImageData: true,
                                   source: glyphFile)
        }
        return Dataset(name: "fonts", train: try split(train: true), test: try split(train: false))
    }

    private static func readNPY(_ path: String) throws -> NPYArray {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DataError(file: path, "no such file; the folder is not a complete font-glyph dataset (rerun \(prepareCommand))")
        }
        do { return try NPYArray.read(from: path) } catch let e as NPYError { throw DataError(file: path, e.reason) }
    }

    /// Reads `classes.tsv`: a header, then `id  U+XXXX  name  script  split` with ids 0, 1, 2, ….
    static func readClasses(_ path: String) throws -> [GlyphCharacter] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw DataError(file: path, "cannot read the class list (\(error.localizedDescription))")
        }
        var out = [GlyphCharacter]()
        for (n, line) in text.split(separator: "\n").enumerated() where n > 0 {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 5, Int(f[0]) == out.count, f[1].hasPrefix("U+"), let code = UInt32(f[1].dropFirst(2), radix: 16),
                  Unicode.Scalar(code) != nil, let split = DataSplit(rawValue: f[4]) else {
                throw DataError(file: path, line: n + 1, "expected \(out.count)<TAB>U+XXXX<TAB>name<TAB>script<TAB>train|test")
            }
            out.append(GlyphCharacter(codePoint: code, script: f[3], split: split))
        }
        guard !out.isEmpty else { throw DataError(file: path, "no classes") }
        return out
    }
}
