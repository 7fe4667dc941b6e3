import ArgumentParser
import DMLBackbones

/// `--backbone NAME`: a raw value (`small-cnn`, `mlp`, `efficientnet-lite0`, `resnet18`,
/// `resnet50`, `googlenet`, `auto`) or an alias (`cnn`); anything else is rejected with the list.
extension BackboneKind: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(name: argument)
    }

    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
