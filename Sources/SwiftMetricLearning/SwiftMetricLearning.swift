// The umbrella module: `import SwiftMetricLearning` brings in the whole library.
@_exported import DMLNumerics
@_exported import MetricLearning
@_exported import DMLWeights
@_exported import DMLDistributed
@_exported import DMLNetworks
@_exported import DMLBackbones
@_exported import DMLEvaluation
@_exported import DMLData
@_exported import DMLRunDirectory
@_exported import DMLTraining
@_exported import DMLReport
