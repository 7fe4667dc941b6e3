import DMLRunDirectory

/// Bad input to a report or a summary: the message names the file (and line or field) and
/// what was expected. The same error as a run-directory file's (`RunFormatError`: `source`,
/// `reason`), so a caller catches one type whether a grid file or a run's `log.jsonl` is wrong.
public typealias ReportError = RunFormatError
