public import BlockFile
public import Validation

/// The assignment's whole job: validate a blk file and, when it has no errors, write its JSON.
public enum AssignmentExport {
    /// Validates `file`, streaming the JSON document into `json` as blocks pass; commits the
    /// JSON when the file has no errors and discards it otherwise.
    ///
    /// - Parameters:
    ///   - json: where the document goes; nil validates only.
    ///   - workers: threads for decoding, hashing and rendering.
    /// - Returns: the verdict.
    /// - Throws: `FileError` when the JSON cannot be written (it is discarded).
    public static func run(_ file: MappedFile, json: OutputFile?, workers: Int = processorCount) throws(FileError) -> AssignmentReport {
        guard let json else { return try! AssignmentValidator.run(file, workers: workers) }
        do {
            try json.write(UnsafeRawBufferPointer(start: AssignmentJSON.prefix.utf8Start,
                                                  count: AssignmentJSON.prefix.utf8CodeUnitCount))
            let report = try AssignmentValidator.run(
                file, workers: workers,
                makeOutput: { OutputBuffer(capacity: 4 << 20) },
                render: { checked, bytes, out in AssignmentJSON.write(checked, bytes: bytes, to: &out) },
                emit: { (buffer: OutputBuffer) throws(FileError) in try json.write(buffer) })
            if report.error == nil {
                try json.write(AssignmentJSON.suffix(blockCount: report.blockCount))
                try json.commit()
            } else {
                json.discard()
            }
            return report
        } catch let error as FileError {
            json.discard()
            throw error
        } catch {
            json.discard()
            fatalError("only FileError can be thrown here: \(error)")
        }
    }
}
