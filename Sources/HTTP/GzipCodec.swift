import CZlib

/// gzip compression of response bodies and decompression of request bodies through zlib.
/// Window bits 31 (15 + 16) select the gzip wrapper of RFC 1952 in both directions.
///
/// One instance belongs to one event loop; it reuses its deflate stream (`deflateReset`),
/// because `deflateInit2` allocates about 256 KiB per call.
final class GzipCodec {
    enum DecodeError: Error, Equatable {
        case tooLarge
        case invalid(String)
    }

    private let deflateStream: UnsafeMutablePointer<z_stream>
    private var deflateReady = false
    private let level: Int32

    init(level: Int) {
        self.level = Int32(level)
        deflateStream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        deflateStream.initialize(to: z_stream())
    }

    deinit {
        if deflateReady { deflateEnd(deflateStream) }
        deflateStream.deinitialize(count: 1)
        deflateStream.deallocate()
    }

    /// Compresses `input` into one gzip member. Returns nil if zlib fails, so the caller can
    /// send the body uncompressed.
    func compress(_ input: [UInt8]) -> [UInt8]? {
        if deflateReady {
            guard deflateReset(deflateStream) == Z_OK else { return nil }
        } else {
            let status = deflateInit2_(deflateStream, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY,
                                       zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else { return nil }
            deflateReady = true
        }
        let bound = Int(deflateBound(deflateStream, uLong(input.count)))
        var output = [UInt8](repeating: 0, count: bound)
        let status: Int32 = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                deflateStream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                deflateStream.pointee.avail_in = uInt(source.count)
                deflateStream.pointee.next_out = target.baseAddress
                deflateStream.pointee.avail_out = uInt(target.count)
                return deflate(deflateStream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        output.removeLast(Int(deflateStream.pointee.avail_out))
        return output
    }

    /// Decodes a gzip body (one or more members, RFC 1952 section 2.2) and fails with
    /// `.tooLarge` as soon as the decoded size passes `limit`, so a small bomb cannot
    /// expand without bound.
    static func decompress(_ input: [UInt8], limit: Int) -> Result<[UInt8], DecodeError> {
        var stream = z_stream()
        guard inflateInit2_(&stream, 31, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return .failure(.invalid("zlib could not start decoding"))
        }
        defer { inflateEnd(&stream) }
        if input.isEmpty { return .failure(.invalid("the body is empty")) }

        var output: [UInt8] = []
        let chunkSize = 16_384
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        return input.withUnsafeBufferPointer { source -> Result<[UInt8], DecodeError> in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = uInt(source.count)
            while true {
                let (status, produced): (Int32, Int) = chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(chunkSize)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    return (status, chunkSize - Int(stream.avail_out))
                }
                if output.count + produced > limit { return .failure(.tooLarge) }
                output.append(contentsOf: chunk[0..<produced])
                switch status {
                case Z_STREAM_END:
                    if stream.avail_in == 0 { return .success(output) }
                    // Another member follows; decode it into the same output.
                    guard inflateReset(&stream) == Z_OK else { return .failure(.invalid("zlib could not reset")) }
                case Z_OK:
                    continue
                case Z_BUF_ERROR:
                    if stream.avail_in == 0 { return .failure(.invalid("the gzip data is truncated")) }
                    continue
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    return .failure(.invalid(reason))
                }
            }
        }
    }
}
