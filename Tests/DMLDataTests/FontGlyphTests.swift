import DMLNumerics
import Foundation
import Testing
@testable import DMLData

/// The font-glyph data source against two tiny committed fonts of polygons
/// (`Fixtures/glyph-test.ttf`, `Fixtures/glyph-test-two.ttf`, written by
/// `scripts/fixtures/make_glyph_test_font.py`; see its docstring for every glyph).
@Suite("Font glyphs")
struct FontGlyphTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let one = fixtures + "/glyph-test.ttf"
    static let two = fixtures + "/glyph-test-two.ttf"

    /// A, B, …, I to train, Ж and Д held out.
    static let characters: [GlyphCharacter] = (0x41...0x49).map { GlyphCharacter(codePoint: UInt32($0), script: "latin", split: .train) }
        + [0x416, 0x414].map { GlyphCharacter(codePoint: $0, script: "cyrillic", split: .test) }

    static func builder(homoglyphFraction: Double = 0.75) -> FontGlyphBuilder {
        var b = FontGlyphBuilder()
        b.characters = characters
        b.minimumFonts = 1
        b.homoglyphFraction = homoglyphFraction
        return b
    }

    static func image(_ outcome: GlyphOutcome) -> Image? {
        if case .image(let i) = outcome { return i }
        return nil
    }

    @Test func classNamesAreReadable() {
        #expect(GlyphCharacter(codePoint: 0x41, script: "latin", split: .train).name == "A")
        #expect(GlyphCharacter(codePoint: 0x37, script: "digit", split: .train).name == "7")
        #expect(GlyphCharacter(codePoint: 0x436, script: "cyrillic", split: .test).name == "ж (U+0436)")
        #expect(GlyphCharacter(codePoint: 0x3C9, script: "greek", split: .train).name == "ω (U+03C9)")
    }

    @Test func standardSetTrainsOnLatinDigitsGreekAndHoldsOutCyrillic() {
        let set = GlyphCharacterSets.standard
        #expect(set.count == 52 + 10 + 24 + 25 + 96 + 2)
        #expect(Set(set.map(\.codePoint)).count == set.count)
        #expect(set.filter { $0.split == .test }.allSatisfy { $0.script == "cyrillic" })
        #expect(set.filter { $0.split == .train }.allSatisfy { $0.script != "cyrillic" })
    }

    @Test func renderingIsDeterministicAndFitsTheBox() throws {
        let rendering = GlyphRendering()
        let face = try FontFace(path: Self.one)
        #expect(face.familyName == "DML Glyph Test" && face.styleName == "Regular")
        let square = try #require(Self.image(try rendering.render("B", from: face)))
        let again = try #require(Self.image(try rendering.render("B", from: try FontFace(path: Self.one))))
        #expect(square == again)
        #expect(square.width == 32 && square.height == 32 && square.channels == 1)
        // A filled square fills the 28 × 28 box centred at (2, 2), nothing outside it.
        #expect(GlyphRendering.inkRegion(of: square) == PixelRegion(x: 2, y: 2, width: 28, height: 28))
        #expect(square[x: 16, y: 16, channel: 0] == 255 && square[x: 5, y: 26, channel: 0] == 255)
        #expect(square[x: 1, y: 1, channel: 0] == 0 && square[x: 30, y: 16, channel: 0] == 0)
        // A bar 6 times wider than tall: 28 wide, about 28/6 tall, centred vertically.
        let bar = try #require(Self.image(try rendering.render("E", from: face)))
        let ink = try #require(GlyphRendering.inkRegion(of: bar))
        #expect(ink.width == 28 && ink.x == 2)
        #expect((4...6).contains(ink.height))
        #expect(abs((ink.y + ink.height / 2) - 16) <= 1)
    }

    @Test func missingBlankAndNotdefGlyphsAreDetected() throws {
        let rendering = GlyphRendering()
        let face = try FontFace(path: Self.one)
        #expect(face.glyphIndex(of: "I") == 0)
        #expect(try rendering.render("I", from: face) == .missing)
        #expect(try rendering.render("G", from: face) == .blank)
        let notdef = try #require(try rendering.renderNotdef(from: face))
        #expect(Self.image(try rendering.render("H", from: face)) == notdef)
        #expect(Self.image(try rendering.render("A", from: face)) != notdef)
    }

    @Test func builderSkipsBadGlyphsAndRecordsWhy() throws {
        let c = try Self.builder().build(fonts: [FontSource(path: Self.two, package: "p2", version: "2"),
                                                 FontSource(path: Self.one, package: "p1", version: "1")])
        // Fonts in sorted path order ("glyph-test-two" < "glyph-test."); each recorded with its package.
        #expect(c.fonts.map(\.path) == [Self.two, Self.one])
        #expect(c.fonts.map(\.package) == ["p2", "p1"] && c.fonts.map(\.status) == ["used", "used"])
        // G (blank), H (notdef box) and I (missing) have no samples left: dropped.
        #expect(c.classes.map(\.name) == ["A", "B", "C", "D", "E", "F", "Ж (U+0416)", "Д (U+0414)"])
        #expect(Set(c.droppedClasses.map(\.character.name)) == ["G", "H", "I"])
        // In the first font B and F are one square: both skipped there ("ambiguous").
        #expect(c.skipped == ["missing": 2, "blank": 2, "notdef": 2, "ambiguous": 2])
        #expect(c.fonts.map(\.glyphs) == [8, 6])
        #expect(c.count == 14 && c.images.count == 14 * 32 * 32)
        let fLabel = try #require(c.classes.firstIndex { $0.name == "F" })
        #expect(zip(c.labels, c.fontIndices).filter { $0.0 == fLabel }.map(\.1) == [0])
        // Built twice: the same bytes.
        let again = try Self.builder().build(fonts: [FontSource(path: Self.one), FontSource(path: Self.two)])
        #expect(again.images == c.images && again.labels == c.labels && again.fontIndices == c.fontIndices)
    }

    @Test func homoglyphClassesAreDropped() throws {
        // B and F look alike in one font of the two: at the default fraction ½, F is B's homoglyph.
        let c = try Self.builder(homoglyphFraction: 0.5).build(fonts: [FontSource(path: Self.one), FontSource(path: Self.two)])
        #expect(!c.classes.contains { $0.name == "F" })
        let f = try #require(c.droppedClasses.first { $0.character.name == "F" })
        #expect(f.reason.contains("drawn like B"))
        #expect(c.skipped["ambiguous"] == nil)
    }

    @Test func aSecondCopyOfAFontIsDropped() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let (a, b, other) = (dir.path + "/a.ttf", dir.path + "/b.ttf", dir.path + "/c.ttf")
        try FileManager.default.copyItem(atPath: Self.one, toPath: a)
        try FileManager.default.copyItem(atPath: Self.one, toPath: b)
        try FileManager.default.copyItem(atPath: Self.two, toPath: other)
        var builder = Self.builder()
        builder.duplicateFontMinimumShared = 5
        let c = try builder.build(fonts: [FontSource(path: other), FontSource(path: b), FontSource(path: a), FontSource(path: a)])
        #expect(c.fonts.map(\.path) == [a, b, other])
        #expect(c.fonts[1].status == "duplicate of \(a) (renders alike)")
        #expect(c.fonts[0].status == "used" && c.fonts[2].status == "used")
        #expect(c.fonts[1].glyphs == 0 && !c.fontIndices.contains(1))
    }

    @Test func writtenFolderLoadsAsClassDisjointSplits() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let c = try Self.builder().build(fonts: [FontSource(path: Self.one, package: "p1", version: "1"), FontSource(path: Self.two)])
        let root = dir.path + "/glyphs"
        try c.write(to: root)
        #expect(throws: DataError.self) { try c.write(to: root) }
        let data = try FontGlyphDataset.load(root: root)
        #expect(data.train.classes.map(\.name) == ["A", "B", "C", "D", "E", "F"])
        #expect(data.test.classes.map(\.name) == ["Ж (U+0416)", "Д (U+0414)"])
        #expect(Set(data.train.classes.map(\.originalID)).isDisjoint(with: data.test.classes.map(\.originalID)))
        #expect(data.train.count == 10 && data.test.count == 4)
        #expect(data.train.sampleShape.dimensions == [1, 32, 32] && data.train.isImageData)
        // Rows are the images / 255, in (font, class) order.
        let batch = try data.test.batch([0], mode: .test)
        let first = c.labels.firstIndex { c.classes[$0].split == .test }!
        let expected = c.images[(first * 1024)..<((first + 1) * 1024)].map { Float($0) / 255 }
        #expect(Array(batch.row(0)) == expected)
        let fonts = try String(contentsOfFile: root + "/fonts.tsv", encoding: .utf8)
        #expect(fonts.contains("\(Self.one)\tp1\t1\tDML Glyph Test\tRegular\t6\tused"))
        let manifest = try String(contentsOfFile: root + "/manifest.json", encoding: .utf8)
        #expect(manifest.contains("\"freeTypeVersion\"") && manifest.contains("\"ambiguous\" : 2"))
        // An explicit split overrides the recorded one.
        let custom = try FontGlyphDataset.load(root: root, trainClasses: .list([0, 6]))
        #expect(custom.train.classes.map(\.name) == ["A", "Ж (U+0416)"])
        #expect(custom.test.classCount == 6)
        // Through the spec, as dml train reads it.
        var spec = try DatasetSpec(name: "fonts", root: root)
        #expect(try spec.load().test.classCount == 2)
        spec.imageSize = 28
        #expect(throws: DataError.self) { try spec.load() }
    }

    @Test func badFontFileIsAnErrorNamingIt() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let bad = try dir.write(Data("this is not a font".utf8), to: "broken.ttf")
        let error = try #require(throws: DataError.self) {
            try Self.builder().build(fonts: [FontSource(path: Self.one), FontSource(path: bad)])
        }
        #expect(error.file == bad)
        #expect(error.reason.contains("not a font file FreeType can read"))
    }

    @Test func unpreparedOrDamagedFolderSaysWhatToDo() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let missing = try #require(throws: DataError.self) { try FontGlyphDataset.load(root: dir.path + "/nothing") }
        #expect(missing.reason.contains("scripts/prepare-fonts.sh"))
        let c = try Self.builder().build(fonts: [FontSource(path: Self.one)])
        let root = dir.path + "/glyphs"
        try c.write(to: root)
        try dir.write("id\tcode_point\tname\tscript\tsplit\n0\tU+0041\tA\tlatin\tsideways\n", to: "glyphs/classes.tsv")
        let badLine = try #require(throws: DataError.self) { try FontGlyphDataset.load(root: root) }
        #expect(badLine.file == root + "/classes.tsv" && badLine.line == 2)
        try FileManager.default.removeItem(atPath: root + "/labels.npy")
        let noLabels = try #require(throws: DataError.self) { try FontGlyphDataset.load(root: root) }
        #expect(noLabels.file == root + "/labels.npy")
    }

    @Test func fontListNamesTheBadLine() throws {
        let dir = try TemporaryDirectory(); defer { dir.remove() }
        let list = try dir.write("# fonts\n\(Self.one)\tpkg\t1.0\n\n\(dir.path)/absent.ttf\tpkg\n", to: "fonts.tsv")
        let error = try #require(throws: DataError.self) { try FontSource.readList(list) }
        #expect(error.file == list && error.line == 4)
        try dir.write("\(Self.one)\tpkg\t1.0\n\(Self.two)\n", to: "fonts.tsv")
        #expect(try FontSource.readList(list) == [FontSource(path: Self.one, package: "pkg", version: "1.0"), FontSource(path: Self.two)])
    }
}
