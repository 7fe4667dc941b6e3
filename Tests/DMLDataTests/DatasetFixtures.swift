import Foundation
@testable import DMLData

/// Miniature datasets in their official layouts, written into a temporary directory.
enum DatasetFixtures {
    /// A small RGB image whose colour encodes `seed`, as PNG or JPEG bytes.
    static func image(_ seed: Int, width: Int = 12, height: Int = 9, jpeg: Bool = false) throws -> Data {
        let image = Image(width: width, height: height, channels: 3) { x, y, c in UInt8((seed * 37 + x * 5 + y * 3 + c * 60) % 256) }
        return jpeg ? try JPEGCodec.encode(image) : try PNGCodec.encode(image)
    }

    /// CUB: `classes` classes of `perClass` images; class ids 1…classes, split at 100.
    static func cub(in dir: TemporaryDirectory, classIDs: [Int], perClass: Int = 2) throws -> String {
        let root = dir.path + "/CUB_200_2011"
        var images = "", labels = "", classes = ""
        var id = 1
        for c in classIDs {
            classes += "\(c) \(String(format: "%03d", c)).Bird_\(c)\n"
            for k in 0..<perClass {
                let rel = String(format: "%03d", c) + ".Bird_\(c)/img_\(k).jpg"
                try dir.write(try image(id, jpeg: true), to: "CUB_200_2011/images/" + rel)
                images += "\(id) \(rel)\n"
                labels += "\(id) \(c)\n"
                id += 1
            }
        }
        try dir.write(images, to: "CUB_200_2011/images.txt")
        try dir.write(labels, to: "CUB_200_2011/image_class_labels.txt")
        try dir.write(classes, to: "CUB_200_2011/classes.txt")
        return root
    }

    /// SOP: train classes 1–2, test classes 3–4, two images each.
    static func sop(in dir: TemporaryDirectory) throws -> String {
        var train = "image_id class_id super_class_id path\n", test = train
        var id = 1
        for c in 1...4 {
            for k in 0..<2 {
                let rel = "bicycle_final/\(c)_\(k).JPG"
                try dir.write(try image(id, jpeg: true), to: "Stanford_Online_Products/" + rel)
                let line = "\(id) \(c) 1 \(rel)\n"
                if c <= 2 { train += line } else { test += line }
                id += 1
            }
        }
        try dir.write(train, to: "Stanford_Online_Products/Ebay_train.txt")
        try dir.write(test, to: "Stanford_Online_Products/Ebay_test.txt")
        return dir.path + "/Stanford_Online_Products"
    }

    /// CARS196: classes 1, 98 (train), 99, 196 (test), one image each, in a compressed MAT file.
    static func cars(in dir: TemporaryDirectory, classes: [Int] = [1, 98, 99, 196], compressed: Bool = true) throws -> String {
        var elements = [[MATv5Writer.Value]]()
        for (k, c) in classes.enumerated() {
            let rel = String(format: "car_ims/%06d.jpg", k + 1)
            try dir.write(try image(k, jpeg: true), to: "cars/" + rel)
            elements.append([.text(rel), .doubles([Double(5 + k)], dimensions: [1, 1]), .doubles([6], dimensions: [1, 1]),
                             .doubles([40], dimensions: [1, 1]), .doubles([30], dimensions: [1, 1]),
                             .bytes([UInt8(c)], dimensions: [1, 1]), .bytes([c > 98 ? 1 : 0], dimensions: [1, 1])])
        }
        let fields = ["relative_im_path", "bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "test"]
        let names = (1...196).map { MATv5Writer.Value.text("Car model \($0)") }
        let data = try MATv5Writer.file([("annotations", .structs(fieldNames: fields, elements: elements)),
                                         ("class_names", .cell(names))], compressed: compressed)
        try dir.write(data, to: "cars/cars_annos.mat")
        return dir.path + "/cars"
    }

    /// Omniglot: two background alphabets × 2 characters and one evaluation alphabet × 2 characters,
    /// 3 drawings each, 105×105 gray PNGs.
    static func omniglot(in dir: TemporaryDirectory, folder: String = "omniglot") throws -> String {
        let sets = [("images_background", ["Alpha", "Beta"]), ("images_evaluation", ["Gamma"])]
        var n = 0
        for (set, alphabets) in sets {
            for a in alphabets {
                for ch in ["character01", "character02"] {
                    for d in 1...3 {
                        let img = Image(width: 105, height: 105, channels: 1) { x, y, _ in (x + y + n) % 7 == 0 ? 0 : 255 }
                        try dir.write(try PNGCodec.encode(img), to: "\(folder)/\(set)/\(a)/\(ch)/\(n)_\(d).png")
                    }
                    n += 1
                }
            }
        }
        return dir.path + "/" + folder
    }

    /// An IDX file of unsigned bytes.
    static func idx(shape: [Int], values: [UInt8]) -> Data {
        var d = Data([0, 0, 0x08, UInt8(shape.count)])
        for s in shape { d.append(contentsOf: [UInt8(s >> 24), UInt8((s >> 16) & 0xFF), UInt8((s >> 8) & 0xFF), UInt8(s & 0xFF)]) }
        d.append(contentsOf: values)
        return d
    }

    /// A gzip file holding `data` (written with the system gzip).
    static func gzip(_ data: Data, in dir: TemporaryDirectory) throws -> Data {
        let path = try dir.write(data, to: "gz-\(UUID().uuidString)")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-n", path]
        try p.run()
        p.waitUntilExit()
        return try Data(contentsOf: URL(fileURLWithPath: path + ".gz"))
    }
}
