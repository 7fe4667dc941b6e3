import ArgumentParser
import MetricLearning
import DMLEvaluation
import DMLTraining

// The option values of the loss commands, parsed from their raw names (an unknown value is
// rejected with the list of valid ones).

extension LossKind: ExpressibleByArgument {}
extension MiningMode: ExpressibleByArgument {}
extension SynthesisKind: ExpressibleByArgument {}
extension TripletSelection: ExpressibleByArgument {}
extension TripletReduction: ExpressibleByArgument {}
extension PairingRule: ExpressibleByArgument {}
extension SynthesisAxis: ExpressibleByArgument {}
extension SymmetricalSchedule: ExpressibleByArgument {}
extension OptimizerName: ExpressibleByArgument {}
extension ScheduleName: ExpressibleByArgument {}
extension BatchNormMode: ExpressibleByArgument {}
extension DistanceMetric: ExpressibleByArgument {}
