import Foundation

/// Writes a line to standard error.
enum FileHandleStandardError {
    static func write(_ message: String) {
        let line = message.hasSuffix("\n") ? message : message + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Ends the process with `code`.
func exitProcess(_ code: Int32) -> Never { exit(code) }
