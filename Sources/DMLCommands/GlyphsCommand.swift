import ArgumentParser
import Foundation
import SwiftMetricLearning

/// `dml glyphs [FONT…] [--font-list FILE] [--out DIR]`: renders the font-glyph dataset
/// (`--dataset fonts`): every character of the standard set (Latin, digits and Greek to train,
/// Cyrillic held out) from every font file, with missing, blank, `.notdef`, duplicate-font,
/// homoglyph and ambiguous glyphs removed (docs/data.md, "Font glyphs").
public struct GlyphsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "glyphs",
        abstract: "Render the font-glyph dataset (classes: characters, samples: fonts) from font files with FreeType.",
        discussion: "Fonts come from the arguments (files, or folders searched for .ttf/.otf files) and from --font-list (one PATH[<TAB>PACKAGE[<TAB>VERSION]] a line; scripts/prepare-fonts.sh writes it from the Debian font packages). The folder written holds glyphs.npy, labels.npy, fonts.npy, classes.tsv, fonts.tsv (every font with its package, version and what became of it) and manifest.json; it is written atomically."
    )

    @Argument(help: "Font files, or folders searched (recursively) for .ttf and .otf files.")
    var fonts: [String] = []

    @Option(name: .customLong("font-list"), help: "A file of font paths, one a line, optionally with the package and version after tabs.")
    var fontList: String?

    @Option(name: [.short, .long], help: "The dataset folder to write (must not exist unless --overwrite).")
    var out = FontGlyphDataset.defaultRoot

    @Option(name: .long, help: "Side of the square images.")
    var size = 32

    @Option(name: .long, help: "Side of the box each glyph is scaled to fit.")
    var box = 28

    @Option(name: .customLong("render-size"), help: "Em size in pixels FreeType renders at before scaling.")
    var renderSize = 64

    @Option(name: .customLong("min-fonts"), help: "Drop a character drawn by fewer fonts than this.")
    var minimumFonts = 20

    @Flag(name: .long, help: "Replace the output folder if it exists.")
    var overwrite = false

    /// The command with its default options (filled in by the argument parser).
    public init() {}

    /// The font sources of the arguments and the list.
    func sources() throws -> [FontSource] {
        var out = [FontSource]()
        if let fontList { out += try FontSource.readList(fontList) }
        for path in fonts {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw DataError(file: path, "no such font file or folder")
            }
            if !isDirectory.boolValue { out.append(FontSource(path: path)); continue }
            let found = FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String }
                .filter { ["ttf", "otf"].contains(($0 as NSString).pathExtension.lowercased()) }.sorted() ?? []
            out += found.map { FontSource(path: path + "/" + $0) }
        }
        guard !out.isEmpty else { throw ValidationError("no fonts: give font files or folders, or --font-list FILE") }
        return out
    }

    /// Renders and writes the dataset; returns it.
    @discardableResult
    public func execute() throws -> FontGlyphCollection {
        var builder = FontGlyphBuilder()
        builder.rendering = try GlyphRendering(canvas: size, box: box, pixelSize: renderSize)
        guard minimumFonts >= 1 else { throw ValidationError("--min-fonts must be at least 1") }
        builder.minimumFonts = minimumFonts
        let collection = try builder.build(fonts: try sources())
        guard !collection.classes.isEmpty else { throw DataError(file: out, "no character is drawn by at least \(minimumFonts) distinct fonts") }
        if overwrite && FileManager.default.fileExists(atPath: out) {
            let manifest = out + "/manifest.json"
            guard FileManager.default.fileExists(atPath: manifest) else {
                throw DataError(file: out, "exists and is not a font-glyph dataset (no manifest.json); not replacing it")
            }
            try FileManager.default.removeItem(atPath: out)
        }
        try collection.write(to: out)
        return collection
    }

    /// Renders, writes and prints a summary.
    public func run() throws {
        let start = Date()
        let c = try execute()
        let used = c.fonts.filter { $0.status == "used" }.count
        let train = c.classes.filter { $0.split == .train }.count
        let skipped = c.skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        print("""
            \(out): \(c.count) glyphs of \(c.classes.count) characters (\(train) training, \(c.classes.count - train) held out) \
            from \(used) of \(c.fonts.count) fonts, \(c.rendering.canvas)×\(c.rendering.canvas), FreeType \(c.freeTypeVersion), \
            \(String(format: "%.1f", Date().timeIntervalSince(start))) s
            skipped glyphs: \(skipped.isEmpty ? "none" : skipped); dropped characters: \(c.droppedClasses.count) (manifest.json)
            """)
    }
}
