import Foundation

/// One character class of the font-glyph dataset: a Unicode scalar, the script it belongs to and
/// the split it goes to.
public struct GlyphCharacter: Codable, Equatable, Hashable, Sendable {
    /// The Unicode scalar value.
    public var codePoint: UInt32
    /// `latin`, `digit`, `greek`, `cyrillic` (or any label of a custom set).
    public var script: String
    /// Where the class goes: training or held-out.
    public var split: DataSplit

    /// A character of `script` going to `split`.
    public init(codePoint: UInt32, script: String, split: DataSplit) {
        self.codePoint = codePoint
        self.script = script
        self.split = split
    }

    /// The scalar (U+FFFD for an invalid code point).
    public var scalar: Unicode.Scalar { Unicode.Scalar(codePoint) ?? "\u{FFFD}" }

    /// A readable class name: the character itself for printable ASCII (`A`, `7`), else the
    /// character and its code point (`ж (U+0436)`).
    public var name: String {
        if (0x21...0x7E).contains(codePoint) { return String(Character(scalar)) }
        return "\(Character(scalar)) (U+\(String(format: "%04X", codePoint)))"
    }
}

/// The character sets of the font-glyph dataset.
public enum GlyphCharacterSets {
    /// The default set: **training** on Latin A–Z and a–z, the digits 0–9 and Greek Α–Ω, α–ω
    /// (U+0391–U+03A9 without the unassigned U+03A2, U+03B1–U+03C9 with final sigma); **held out**
    /// the Cyrillic letters U+0400–U+045F and Ґ ґ (U+0490, U+0491). Characters that look like an
    /// earlier one (Cyrillic А, Greek Α …) are removed when the dataset is built (`FontGlyphBuilder`).
    public static var standard: [GlyphCharacter] {
        func range(_ r: ClosedRange<UInt32>, _ script: String, _ split: DataSplit, except: Set<UInt32> = []) -> [GlyphCharacter] {
            r.filter { !except.contains($0) }.map { GlyphCharacter(codePoint: $0, script: script, split: split) }
        }
        return range(0x41...0x5A, "latin", .train) + range(0x61...0x7A, "latin", .train) + range(0x30...0x39, "digit", .train)
            + range(0x391...0x3A9, "greek", .train, except: [0x3A2]) + range(0x3B1...0x3C9, "greek", .train)
            + range(0x400...0x45F, "cyrillic", .test) + range(0x490...0x491, "cyrillic", .test)
    }
}

/// A font file to render, with the Debian package that installed it (recorded, not used).
public struct FontSource: Codable, Equatable, Sendable {
    /// The font file.
    public var path: String
    /// The package that installed it, or "".
    public var package: String
    /// That package's version, or "".
    public var version: String

    /// A font file from `package` at `version`.
    public init(path: String, package: String = "", version: String = "") {
        self.path = path
        self.package = package
        self.version = version
    }

    /// Reads a font list: one font per line, `PATH[<TAB>PACKAGE[<TAB>VERSION]]`; empty lines and
    /// lines starting with `#` are skipped. A path that is not a file is an error naming the line.
    public static func readList(_ file: String) throws -> [FontSource] {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw DataError(file: file, "cannot read the font list (\(error.localizedDescription)); expected one font file per line")
        }
        var out = [FontSource]()
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty || t.hasPrefix("#") { continue }
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count <= 3, !fields[0].isEmpty else {
                throw DataError(file: file, line: n + 1, "expected PATH, PATH<TAB>PACKAGE or PATH<TAB>PACKAGE<TAB>VERSION")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: fields[0], isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw DataError(file: file, line: n + 1, "no such font file: \(fields[0])")
            }
            out.append(FontSource(path: fields[0], package: fields.count > 1 ? fields[1] : "", version: fields.count > 2 ? fields[2] : ""))
        }
        return out
    }
}

/// Renders every character of a set from every font of a list and keeps what is a real, distinct
/// sample of its class. All decisions are deterministic functions of the font files (taken in
/// sorted path order), the characters (in the given order) and these parameters:
///
/// 1. **Missing glyphs.** A character the font's character map does not cover (glyph 0,
///    `.notdef`) is skipped (`missing`), as is a glyph with no ink (`blank`) and a glyph whose
///    rendering is identical to the font's own `.notdef` box (`notdef`).
/// 2. **Duplicate fonts.** A font whose renderings differ from an earlier kept font's by
///    `glyphDifference < duplicateFontDifference` on at least `duplicateFontFraction` of the
///    characters both draw (at least `duplicateFontMinimumShared` of them) is dropped whole — a
///    second packaging of one font (`.otf` and `.ttf`), a derivative or a metric clone: it would
///    put near-copies in every class. (Names are not compared: some fonts declare one style name
///    for all their weights.)
/// 3. **Homoglyph classes.** A character drawn like an earlier character of the set — difference
///    below `homoglyphDifference` in at least `homoglyphFraction` of the kept fonts that have both
///    (Cyrillic А and Latin A) — is dropped as a class: its samples would be the other class's.
/// 4. **Ambiguous glyphs.** Within one font, characters (of the kept classes) whose renderings are
///    byte-identical (a fallback glyph mapped to several code points; `l` and `I` drawn as the
///    same bar) are all skipped for that font (`ambiguous`).
/// 5. **Small classes.** A class left with fewer than `minimumFonts` samples is dropped.
public struct FontGlyphBuilder: Sendable {
    /// The rendering parameters.
    public var rendering = GlyphRendering()
    /// The characters, in priority order for rule 3.
    public var characters = GlyphCharacterSets.standard
    /// Rule 2's difference threshold.
    public var duplicateFontDifference = 0.10
    /// Rule 2's fraction of shared characters.
    public var duplicateFontFraction = 0.9
    /// Rule 2 compares two fonts only when they draw at least this many characters in common.
    public var duplicateFontMinimumShared = 10
    /// Rule 3's difference threshold.
    public var homoglyphDifference = 0.15
    /// Rule 3's fraction of fonts.
    public var homoglyphFraction = 0.5
    /// Rule 5's smallest class.
    public var minimumFonts = 20

    /// The default builder (the standard character set, 32 × 32 images).
    public init() {}

    /// Renders `fonts` (sorted by path, repeated paths once). A font file FreeType cannot open is
    /// an error naming it.
    public func build(fonts sources: [FontSource]) throws -> FontGlyphCollection {
        var seen = Set<String>()
        let fonts = sources.sorted { $0.path < $1.path }.filter { seen.insert($0.path).inserted }
        let n = characters.count, pixels = rendering.canvas * rendering.canvas
        var images = [[[UInt8]?]]()
        var inks = [[Int]]()
        var records = [FontRecord]()
        var skipped = [String: Int]()
        for source in fonts {
            let face = try FontFace(path: source.path)
            let notdef = try rendering.renderNotdef(from: face)?.pixels
            var row = [[UInt8]?](repeating: nil, count: n)
            var ink = [Int](repeating: 0, count: n)
            for (c, character) in characters.enumerated() {
                switch try rendering.render(character.scalar, from: face) {
                case .missing: skipped["missing", default: 0] += 1
                case .blank: skipped["blank", default: 0] += 1
                case .image(let image):
                    if image.pixels == notdef { skipped["notdef", default: 0] += 1; continue }
                    row[c] = image.pixels
                    ink[c] = image.pixels.reduce(0) { $0 + Int($1) }
                }
            }
            images.append(row)
            inks.append(ink)
            records.append(FontRecord(path: source.path, package: source.package, version: source.version,
                                      family: face.familyName, style: face.styleName, status: "used", glyphs: 0))
        }
        // Two glyphs can be closer than `d` only if their ink sums are: Σ|a−b| ≥ |Σa − Σb| and
        // Σmax(a, b) ≤ Σa + Σb, so |Σa − Σb| ≥ d·(Σa + Σb) implies a difference of at least d.
        func near(_ f: Int, _ g: Int, _ a: Int, _ b: Int, _ d: Double) -> Bool {
            guard let x = images[f][a], let y = images[g][b] else { return false }
            let sa = inks[f][a], sb = inks[g][b]
            if Double(abs(sa - sb)) >= d * Double(sa + sb) { return false }
            return glyphDifference(x, y) < d
        }
        // Rule 2: duplicate fonts.
        var kept = [Int]()
        for f in fonts.indices {
            var duplicate: Int?
            for g in kept {
                let shared = (0..<n).filter { images[f][$0] != nil && images[g][$0] != nil }
                guard shared.count >= duplicateFontMinimumShared else { continue }
                let allowed = shared.count - Int((duplicateFontFraction * Double(shared.count)).rounded(.up))
                var misses = 0
                for c in shared where !near(f, g, c, c, duplicateFontDifference) {
                    misses += 1
                    if misses > allowed { break }
                }
                if misses <= allowed { duplicate = g; break }
            }
            if let g = duplicate {
                records[f].status = "duplicate of \(records[g].path) (renders alike)"
                continue
            }
            kept.append(f)
        }
        // Rule 3: homoglyph classes.
        var dropped = [DroppedClass]()
        var alive = [Bool](repeating: true, count: n)
        for b in 0..<n {
            for a in 0..<b where alive[a] {
                let both = kept.filter { images[$0][a] != nil && images[$0][b] != nil }
                guard !both.isEmpty else { continue }
                let needed = Int((homoglyphFraction * Double(both.count)).rounded(.up))
                var hits = 0, misses = 0
                for f in both {
                    if near(f, f, a, b, homoglyphDifference) { hits += 1 } else { misses += 1 }
                    if hits >= needed || misses > both.count - needed { break }
                }
                if hits >= needed {
                    alive[b] = false
                    dropped.append(DroppedClass(character: characters[b],
                                                reason: "drawn like \(characters[a].name) in at least \(needed) of the \(both.count) fonts that have both"))
                    break
                }
            }
        }
        // Rule 4: identical renderings within a font.
        for f in kept {
            var groups = [[UInt8]: [Int]]()
            for c in 0..<n where alive[c] { if let image = images[f][c] { groups[image, default: []].append(c) } }
            for (_, members) in groups where members.count > 1 {
                for c in members { images[f][c] = nil }
                skipped["ambiguous", default: 0] += members.count
            }
        }
        // Rule 5: small classes.
        for c in 0..<n where alive[c] {
            let count = kept.filter { images[$0][c] != nil }.count
            if count < minimumFonts {
                alive[c] = false
                dropped.append(DroppedClass(character: characters[c], reason: "only \(count) fonts draw it (fewer than \(minimumFonts))"))
            }
        }
        // Assemble: samples in (font, class) order.
        let classIndices = (0..<n).filter { alive[$0] }
        var label = [Int](repeating: -1, count: n)
        for (k, c) in classIndices.enumerated() { label[c] = k }
        var out = [UInt8](), labels = [Int](), fontIndices = [Int]()
        for f in kept {
            var count = 0
            for c in classIndices {
                guard let image = images[f][c] else { continue }
                out.append(contentsOf: image)
                labels.append(label[c])
                fontIndices.append(f)
                count += 1
            }
            records[f].glyphs = count
        }
        precondition(out.count == labels.count * pixels)
        return FontGlyphCollection(rendering: rendering, classes: classIndices.map { characters[$0] }, fonts: records,
                                   images: out, labels: labels, fontIndices: fontIndices,
                                   skipped: skipped, droppedClasses: dropped, freeTypeVersion: FontFace.freeTypeVersion,
                                   thresholds: ["duplicateFontDifference": duplicateFontDifference,
                                                "duplicateFontFraction": duplicateFontFraction,
                                                "duplicateFontMinimumShared": Double(duplicateFontMinimumShared),
                                                "homoglyphDifference": homoglyphDifference,
                                                "homoglyphFraction": homoglyphFraction,
                                                "minimumFonts": Double(minimumFonts)])
    }
}

/// A font file of a built dataset and what became of it.
public struct FontRecord: Codable, Equatable, Sendable {
    /// The font file.
    public var path: String
    /// Its Debian package, or "".
    public var package: String
    /// The package's version, or "".
    public var version: String
    /// The family name the font declares.
    public var family: String
    /// The style name the font declares.
    public var style: String
    /// `used`, or why the font was dropped (`duplicate of …`).
    public var status: String
    /// The samples it contributed.
    public var glyphs: Int
}

/// A character of the set that is not a class of the built dataset, and why.
public struct DroppedClass: Codable, Equatable, Sendable {
    /// The character.
    public var character: GlyphCharacter
    /// Why it was dropped.
    public var reason: String
}
