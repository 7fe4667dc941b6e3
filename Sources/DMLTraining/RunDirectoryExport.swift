// The trainer's API speaks the run directory's types (`RunStart`, `RunLog`, `RunLogRecord`,
// `RunFiles`, `RunDirectoryError`), so `import DMLTraining` brings them in with it.
@_exported import DMLRunDirectory
