/// The client's preference for gzip in `Accept-Encoding` (RFC 9110 section 12.5.3).
enum AcceptEncoding {
    enum Choice: Equatable {
        /// Send the body as it is.
        case identity
        /// Compress the body with gzip when it is large enough.
        case gzip
        /// Compress with gzip at any size, because the client rejects identity (`identity;q=0`).
        case gzipRequired
    }

    /// Chooses between gzip and identity from the `Accept-Encoding` values. A coding's weight
    /// is its own entry's q, else `*`'s; identity is acceptable unless it or `*` has q=0 and
    /// no entry names it. When neither is acceptable, identity is sent anyway, which RFC 9110
    /// permits instead of a 406.
    static func choose(_ values: [String]) -> Choice {
        if values.isEmpty { return .identity }
        var gzipWeight: Double?
        var identityWeight: Double?
        var wildcardWeight: Double?
        for element in HTTPSyntax.listElements(values.joined(separator: ",")) {
            let parts = element.split(separator: ";")
            guard let first = parts.first else { continue }
            let coding = HTTPSyntax.lowercased(first.trimmingWhitespace())
            var weight = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, HTTPSyntax.lowercased(pair[0].trimmingWhitespace()) == "q" else { continue }
                weight = parseWeight(pair[1].trimmingWhitespace()) ?? 0
            }
            switch coding {
            case "gzip", "x-gzip": gzipWeight = max(gzipWeight ?? 0, weight)
            case "identity": identityWeight = weight
            case "*": wildcardWeight = weight
            default: break
            }
        }
        let gzip = gzipWeight ?? wildcardWeight ?? 0
        let identity = identityWeight ?? (wildcardWeight == 0 ? 0 : 1)
        if gzip <= 0 { return .identity }
        return identity <= 0 ? .gzipRequired : .gzip
    }

    /// Parses a qvalue: `0`, `1`, or `0.` / `1.` with up to three decimals.
    private static func parseWeight(_ text: Substring) -> Double? {
        guard let value = Double(text), value >= 0, value <= 1, text.utf8.count <= 5 else { return nil }
        return value
    }
}
