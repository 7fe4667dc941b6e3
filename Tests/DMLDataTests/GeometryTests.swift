import DMLNumerics
import Foundation
import Testing
@testable import DMLData

@Suite("Resize, crop, flip and normalization")
struct GeometryTests {
    static let image = Image(width: 6, height: 4, channels: 3) { x, y, c in UInt8(x * 40 + y * 7 + c) }

    @Test func flipTwiceIsIdentity() {
        #expect(Self.image.flippedHorizontally().flippedHorizontally() == Self.image)
        let flipped = Self.image.flippedHorizontally()
        #expect(flipped[x: 0, y: 2, channel: 1] == Self.image[x: 5, y: 2, channel: 1])
        #expect(flipped != Self.image)
    }

    @Test func centerCropOfKnownImage() {
        let region = Self.image.centerRegion(width: 2, height: 2)
        #expect(region == PixelRegion(x: 2, y: 1, width: 2, height: 2))
        let crop = Self.image.cropped(region)
        #expect(crop.pixels == [
            87, 88, 89, 127, 128, 129,
            94, 95, 96, 134, 135, 136,
        ])
    }

    @Test func resizeHandComputedWeights() {
        // Downscale 4 → 2: outputs (0.75a + 0.75b + 0.25c)/1.75 and (0.25b + 0.75c + 0.75d)/1.75.
        let row = Image(width: 4, height: 1, channels: 1, pixels: [0, 70, 140, 210])
        #expect(row.resized(width: 2, height: 1).pixels == [50, 160])
        // Upscale 2 → 4: a, 0.75a + 0.25b, 0.25a + 0.75b, b.
        let pair = Image(width: 2, height: 1, channels: 1, pixels: [0, 100])
        #expect(pair.resized(width: 4, height: 1).pixels == [0, 25, 75, 100])
        // The filter is separable: the same along columns.
        let column = Image(width: 1, height: 4, channels: 1, pixels: [0, 70, 140, 210])
        #expect(column.resized(width: 1, height: 2).pixels == [50, 160])
    }

    @Test func resamplingARegionOfALinearRampGivesTheRampAtTheCentres() {
        // Value 10·x: an interior output with centre c averages symmetric taps, so it is 10·(c − ½).
        let ramp = Image(width: 20, height: 6, channels: 3) { x, _, _ in UInt8(10 * x) }
        let out = ramp.resampled(region: PixelRegion(x: 4, y: 1, width: 8, height: 4), width: 4, height: 2)
        for y in 0..<2 { for c in 0..<3 {
            #expect((0..<4).map { out[x: $0, y: y, channel: c] } == [45, 65, 85, 105])
        } }
    }

    @Test func resizeKeepsConstantImagesAndShorterSide() {
        let constant = Image(width: 37, height: 23, channels: 3) { _, _, c in UInt8(90 + c) }
        let small = constant.resized(width: 5, height: 9)
        #expect(small.pixels == Array(repeating: [90, 91, 92], count: 45).flatMap { $0 })
        let cub = Image(width: 500, height: 375, channels: 1) { _, _, _ in 0 }.resized(shorterSide: 256)
        #expect(cub.width == 341 && cub.height == 256)
        #expect(Image.size(ofWidth: 300, height: 600, shorterSide: 100) == (100, 200))
    }

    @Test func fusedNormalizationMatchesComposition() {
        let region = PixelRegion(x: 1, y: 1, width: 4, height: 3)
        let norm = Normalization(mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.5])
        for flip in [false, true] {
            var out = [Float](repeating: .nan, count: 3 * 12)
            out.withUnsafeMutableBufferPointer { Self.image.writeNormalizedCHW(region: region, flip: flip, normalization: norm, into: $0) }
            var expected = Self.image.cropped(region)
            if flip { expected = expected.flippedHorizontally() }
            for c in 0..<3 { for y in 0..<3 { for x in 0..<4 {
                let v = (Float(expected[x: x, y: y, channel: c]) / 255 - norm.mean[c]) / norm.std[c]
                #expect(abs(out[(c * 3 + y) * 4 + x] - v) < 1e-5)
            } } }
        }
    }

    @Test func randomCropStaysInsideAndIsSeeded() throws {
        let pipeline = try AugmentationPipeline(channels: 3, resize: .none, crop: .random(width: 3, height: 2), horizontalFlip: true)
        var seen = Set<[Float]>()
        for seed in 0..<40 {
            var g1 = SeededGenerator(seed: UInt64(seed)), g2 = SeededGenerator(seed: UInt64(seed))
            var a = [Float](repeating: 0, count: 18), b = a
            try a.withUnsafeMutableBufferPointer { try pipeline.augment(Self.image, generator: &g1, source: "t", into: $0) }
            try b.withUnsafeMutableBufferPointer { try pipeline.augment(Self.image, generator: &g2, source: "t", into: $0) }
            #expect(a == b)
            // Every output is a crop of the image (possibly flipped): find it among all positions.
            var matches = false
            for x in 0...3 { for y in 0...2 { for flip in [false, true] {
                var c = [Float](repeating: 0, count: 18)
                c.withUnsafeMutableBufferPointer {
                    Self.image.writeNormalizedCHW(region: PixelRegion(x: x, y: y, width: 3, height: 2), flip: flip, normalization: .unit, into: $0)
                }
                if c == a { matches = true }
            } } }
            #expect(matches)
            seen.insert(a)
        }
        #expect(seen.count > 10)
    }

    @Test func randomResizedCropRegionRespectsBounds() {
        var g = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            let r = AugmentationPipeline.randomResizedRegion(width: 50, height: 30, scale: 0.08...1, aspectRatio: 0.75...(4.0 / 3), generator: &g)
            #expect(r.x >= 0 && r.y >= 0 && r.width >= 1 && r.height >= 1 && r.x + r.width <= 50 && r.y + r.height <= 30)
        }
        // Impossible scales fall back to the centred region of the allowed ratio.
        let fallback = AugmentationPipeline.randomResizedRegion(width: 100, height: 10, scale: 5...6, aspectRatio: 1...2, generator: &g)
        #expect(fallback == PixelRegion(x: 40, y: 0, width: 20, height: 10))
    }

    @Test func papersPresetShapes() throws {
        #expect(AugmentationPipeline.papersTrain.outputShape == SampleShape(channels: 3, height: 227, width: 227))
        #expect(AugmentationPipeline.papersTest.outputShape.dimensions == [3, 227, 227])
        let photo = Image(width: 500, height: 375, channels: 3) { x, y, c in UInt8((x + y + c) % 256) }
        let prepared = AugmentationPipeline.papersTest.prepare(photo)
        #expect(prepared.width == 341 && prepared.height == 256)
        #expect(try AugmentationPipeline.smallImages(size: 28).outputShape.dimensions == [1, 28, 28])
        #expect(throws: DataError.self) { try AugmentationPipeline(channels: 3, resize: .shorterSide(10)) }
        #expect(throws: DataError.self) { try AugmentationPipeline(channels: 2, resize: .exact(width: 4, height: 4)) }
        // A crop larger than the image is an error naming the file.
        let p = try AugmentationPipeline(channels: 1, resize: .none, crop: .center(width: 9, height: 9))
        var g = SeededGenerator(seed: 1)
        var out = [Float](repeating: 0, count: 81)
        let e = #expect(throws: DataError.self) {
            try out.withUnsafeMutableBufferPointer { try p.augment(Image(width: 4, height: 4, channels: 1) { _, _, _ in 0 }, generator: &g, source: "tiny.png", into: $0) }
        }
        #expect(e?.file == "tiny.png")
    }

    @Test func pipelinesRoundTripThroughJSONAndInvalidOnesAreRejected() throws {
        let json = try JSONEncoder().encode(AugmentationPipeline.papersTrain)
        #expect(try JSONDecoder().decode(AugmentationPipeline.self, from: json) == .papersTrain)
        let invalid = Data(String(decoding: json, as: UTF8.self).replacingOccurrences(of: "\"channels\":3", with: "\"channels\":5").utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(AugmentationPipeline.self, from: invalid) }
    }
}
