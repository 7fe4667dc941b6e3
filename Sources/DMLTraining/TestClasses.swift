import Foundation
import DMLData

/// The class names of a run's held-out split, written as `embeddings/test_classes.json` so a
/// report can name classes: `{"classes": [{"label": 0, "original_id": 5, "name": "Sandal"}, …]}`,
/// one entry per label of `embeddings/test_labels.npy`, in label order.
public enum TestClasses {
    /// The JSON of `split.classes` (pretty-printed, keys sorted).
    public static func json(of split: any DatasetSplit) throws -> Data {
        let entries: [[String: Any]] = split.classes.enumerated().map { label, c in
            ["label": label, "original_id": c.originalID, "name": c.name]
        }
        return try JSONSerialization.data(withJSONObject: ["classes": entries],
                                          options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}
