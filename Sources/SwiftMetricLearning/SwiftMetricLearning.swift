// The umbrella module: `import SwiftMetricLearning` brings in the whole library.
@_exported import DMLNumerics
@_exported import DMLReport
